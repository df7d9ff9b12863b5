"""Index history by (profile_id, source, timestamp): the unread count of every conversation.

``UnreadGet("")`` counted the received messages after each conversation's read point
with only ``profile_id`` bound in an index: it read the profile's whole history. With
this index each conversation is a range from its read point on, and the conversations
themselves are found by one seek each (a loose index scan).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 02:10:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.create_index('ix_history_profile_id_source_timestamp', ['profile_id', 'source', 'timestamp'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index('ix_history_profile_id_source_timestamp')
