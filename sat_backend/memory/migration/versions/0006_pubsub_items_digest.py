"""Pubsub items keep the digest of their payload: a notification of an item already
stored as it is costs one comparison (no parse of the stored XML).

``pubsub_items.digest`` is the hex SHA-256 of the item's canonical payload
(:class:`sat_backend.core.received_item.ReceivedItem`). Nullable: rows cached before this
revision get theirs lazily, the first time a notification of their id is compared.

SQLite recreates the table to drop a column (batch mode): the full-text index's
triggers would go with the old table, so the downgrade drops the index first and
creates it again after (``pubsub_fts``, as revision 0003 does).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 05:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from sat_backend.memory import pubsub_fts


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('pubsub_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))


def downgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == 'sqlite'
    if sqlite:
        pubsub_fts.drop_index(connection)
    with op.batch_alter_table('pubsub_items', schema=None) as batch_op:
        batch_op.drop_column('digest')
    if sqlite:
        pubsub_fts.create_index(connection)
