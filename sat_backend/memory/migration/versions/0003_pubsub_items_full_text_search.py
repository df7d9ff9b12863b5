"""Full-text search of cached pubsub items: their words in ``search_text``, and an index.

SQLite gets an FTS5 external-content table kept in sync by triggers; PostgreSQL a stored
generated column ``search_vector = to_tsvector('simple', search_text)`` with a GIN index
(see ``sat_backend/memory/pubsub_fts.py``).
Items already cached get their words now, from their raw XML.

The DDL of the index is imported from ``pubsub_fts`` rather than copied, so that a new
database (``create_all`` + the same function) and a migrated one are identical; if that
DDL ever changes, a new revision must drop and recreate the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:17:15.619962

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from sat_backend.memory import pubsub_fts


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table('pubsub_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    connection = op.get_bind()
    items = sa.table('pubsub_items', sa.column('id', sa.Integer), sa.column('data', sa.Text),
                     sa.column('search_text', sa.Text))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(items.c.id, items.c.data).where(items.c.id > last_id).order_by(items.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            items.update().where(items.c.id == sa.bindparam('item_id')).values(search_text=sa.bindparam('words')),
            [{'item_id': row.id, 'words': pubsub_fts.search_text(row.data)} for row in rows],
        )
        last_id = rows[-1].id
    pubsub_fts.create_index(connection)


def downgrade() -> None:
    pubsub_fts.drop_index(op.get_bind())
    with op.batch_alter_table('pubsub_items', schema=None) as batch_op:
        batch_op.drop_column('search_text')
