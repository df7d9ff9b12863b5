"""Initial schema: profiles, params, private data, history, pubsub nodes and items.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 03:06:42.025239

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table('params_general',
    sa.Column('category', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('category', 'name', name=op.f('pk_params_general'))
    )
    op.create_table('private_general',
    sa.Column('namespace', sa.String(length=128), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('namespace', 'key', name=op.f('pk_private_general'))
    )
    op.create_table('profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('created', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profiles')),
    sa.UniqueConstraint('name', name=op.f('uq_profiles_name'))
    )
    op.create_table('history',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('stanza_id', sa.String(length=255), nullable=True),
    sa.Column('origin_id', sa.String(length=255), nullable=True),
    sa.Column('timestamp', sa.Float(), nullable=False),
    sa.Column('received_timestamp', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=3071), nullable=False),
    sa.Column('source_res', sa.String(length=1023), nullable=True),
    sa.Column('dest', sa.String(length=3071), nullable=False),
    sa.Column('dest_res', sa.String(length=1023), nullable=True),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_history_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history')),
    sa.UniqueConstraint('profile_id', 'stanza_id', 'source', name=op.f('uq_history_profile_id_stanza_id_source'))
    )
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.create_index('ix_history_profile_id_timestamp', ['profile_id', 'timestamp'], unique=False)

    op.create_table('params_individual',
    sa.Column('category', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_params_individual_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('category', 'name', 'profile_id', name=op.f('pk_params_individual'))
    )
    op.create_table('private_individual',
    sa.Column('namespace', sa.String(length=128), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_private_individual_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('namespace', 'key', 'profile_id', name=op.f('pk_private_individual'))
    )
    op.create_table('pubsub_nodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=3071), nullable=False),
    sa.Column('name', sa.String(length=1024), nullable=False),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('analyser', sa.String(length=128), nullable=True),
    sa.Column('sync_state', sa.Enum('in_progress', 'completed', 'error', 'no_sync', name='sync_state', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('sync_state_updated', sa.Float(), nullable=False),
    sa.Column('type', sa.String(length=128), nullable=True),
    sa.Column('subtype', sa.String(length=128), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_pubsub_nodes_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pubsub_nodes')),
    sa.UniqueConstraint('profile_id', 'service', 'name', name=op.f('uq_pubsub_nodes_profile_id_service_name'))
    )
    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('history_id', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.ForeignKeyConstraint(['history_id'], ['history.id'], name=op.f('fk_messages_history_id_history'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_history_id'), ['history_id'], unique=False)

    op.create_table('pubsub_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=1024), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created', sa.Float(), nullable=False),
    sa.Column('updated', sa.Float(), nullable=False),
    sa.Column('parsed', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['node_id'], ['pubsub_nodes.id'], name=op.f('fk_pubsub_items_node_id_pubsub_nodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pubsub_items')),
    sa.UniqueConstraint('node_id', 'name', name=op.f('uq_pubsub_items_node_id_name'))
    )
    op.create_table('subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('history_id', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.ForeignKeyConstraint(['history_id'], ['history.id'], name=op.f('fk_subjects_history_id_history'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subjects'))
    )
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subjects_history_id'), ['history_id'], unique=False)




def downgrade() -> None:
    """Downgrade schema."""

    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subjects_history_id'))

    op.drop_table('subjects')
    op.drop_table('pubsub_items')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_history_id'))

    op.drop_table('messages')
    op.drop_table('pubsub_nodes')
    op.drop_table('private_individual')
    op.drop_table('params_individual')
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_profile_id_timestamp')

    op.drop_table('history')
    op.drop_table('profiles')
    op.drop_table('private_general')
    op.drop_table('params_general')

