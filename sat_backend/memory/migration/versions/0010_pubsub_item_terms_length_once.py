"""The SQLite triggers of the term index compute an item's length once, not once per
word (issue 14; see ``sat_backend/memory/pubsub_fts_terms.py``): the rows they write are
the same, so the table is kept as it is. Nothing changes on PostgreSQL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 02:30:00.000000

"""
from typing import Sequence, Union

from alembic import op

from sat_backend.memory import pubsub_fts_terms


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        pubsub_fts_terms.replace_sqlite_triggers(connection, pubsub_fts_terms.SQLITE_TRIGGERS)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        pubsub_fts_terms.replace_sqlite_triggers(connection, pubsub_fts_terms.SQLITE_TRIGGERS_0008)
