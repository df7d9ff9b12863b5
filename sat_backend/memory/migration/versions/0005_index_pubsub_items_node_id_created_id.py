"""Index pubsub items by (node_id, created, id): a page of a cached node by keyset.

The cache serves a node oldest first by ``created``, ties broken by row id; without this
index a page of 20 read and sorted every item id of the node (140 ms at 100k items).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:40:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('pubsub_items', schema=None) as batch_op:
        batch_op.create_index('ix_pubsub_items_node_id_created_id', ['node_id', 'created', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pubsub_items', schema=None) as batch_op:
        batch_op.drop_index('ix_pubsub_items_node_id_created_id')
