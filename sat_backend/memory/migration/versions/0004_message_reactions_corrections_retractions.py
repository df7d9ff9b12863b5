"""Message reactions (XEP-0444), corrections (XEP-0308), retractions (XEP-0424).

New tables: ``message_reactions`` (each sender's set per message), ``message_versions``
(texts replaced by corrections), ``pending_references`` (changes whose message has not
arrived yet). ``history`` gains ``message_id`` (the stanza id, indexed: references use it
when there is no origin-id) and ``retracted`` (the tombstone's time). Existing messages
keep ``message_id`` empty: their stanza ids were never stored.

Made with ``alembic revision --autogenerate``; only the comments were edited.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:23:05.105707

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('pending_references',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reference_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=3071), nullable=False),
    sa.Column('recipient', sa.String(length=3071), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_pending_references_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_references'))
    )
    with op.batch_alter_table('pending_references', schema=None) as batch_op:
        batch_op.create_index('ix_pending_references_profile_id_reference_id', ['profile_id', 'reference_id'], unique=False)

    op.create_table('message_reactions',
    sa.Column('history_id', sa.String(length=64), nullable=False),
    sa.Column('sender', sa.String(length=3071), nullable=False),
    sa.Column('reactions', sa.JSON(), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['history_id'], ['history.id'], name=op.f('fk_message_reactions_history_id_history'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('history_id', 'sender', name=op.f('pk_message_reactions'))
    )
    op.create_table('message_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('history_id', sa.String(length=64), nullable=False),
    sa.Column('bodies', sa.JSON(), nullable=False),
    sa.Column('replaced', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['history_id'], ['history.id'], name=op.f('fk_message_versions_history_id_history'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_versions'))
    )
    with op.batch_alter_table('message_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_versions_history_id'), ['history_id'], unique=False)

    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('retracted', sa.Float(), nullable=True))
        batch_op.create_index('ix_history_profile_id_message_id', ['profile_id', 'message_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_profile_id_message_id')
        batch_op.drop_column('retracted')
        batch_op.drop_column('message_id')

    with op.batch_alter_table('message_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_versions_history_id'))

    op.drop_table('message_versions')
    op.drop_table('message_reactions')
    with op.batch_alter_table('pending_references', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_references_profile_id_reference_id')

    op.drop_table('pending_references')
