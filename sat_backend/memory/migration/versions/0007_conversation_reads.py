"""Read state of conversations: ``conversation_reads`` (how far each 1:1 conversation was
read), from which the backend counts unread messages for every frontend.

Messages stored before this revision were shown by frontends that kept no read state:
they count as read (each conversation is marked read up to its last stored message),
or an upgrade would greet the user with their whole history unread.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 08:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('conversation_reads',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('peer', sa.String(length=3071), nullable=False),
    sa.Column('read_until', sa.Float(), nullable=False),
    sa.Column('last_read_uid', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_conversation_reads_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'peer', name=op.f('pk_conversation_reads'))
    )
    op.execute(
        "INSERT INTO conversation_reads (profile_id, peer, read_until) "
        "SELECT profile_id, source, MAX(timestamp) FROM history GROUP BY profile_id, source"
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('conversation_reads')
