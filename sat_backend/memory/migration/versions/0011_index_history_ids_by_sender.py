"""Index a sender's ids with the sender: (profile_id, origin_id, source), (profile_id, message_id, source).

Since 0009, SQLite's planner, with no statistics, took ``(profile_id, source,
timestamp)`` for the look-up of a received message's origin-id (``profile_id``,
``source`` and ``origin_id`` bound): two bound columns on either index, and it chose
the conversation's. Every message received then read every message stored from its
sender: 8 ms per message at 25,000 from one peer. An origin-id or a stanza id is chosen
by its sender, so the sender completes the key; with three bound columns the id's index
wins, and a room's look-up by message id (``source`` is the room) gets it too.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_BY_SENDER = {
    'ix_history_profile_id_origin_id': ('ix_history_profile_id_origin_id_source', 'origin_id'),
    'ix_history_profile_id_message_id': ('ix_history_profile_id_message_id_source', 'message_id'),
}


def upgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        for old, (new, column) in _BY_SENDER.items():
            batch_op.drop_index(old)
            batch_op.create_index(new, ['profile_id', column, 'source'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('history', schema=None) as batch_op:
        for old, (new, column) in _BY_SENDER.items():
            batch_op.drop_index(new)
            batch_op.create_index(old, ['profile_id', column], unique=False)
