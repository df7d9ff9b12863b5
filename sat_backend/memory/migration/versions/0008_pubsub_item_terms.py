"""The term index of the full-text search, ``pubsub_item_terms``: per word and item, how
many times the word occurs and how long the item is, so that a ranked one-word search
reads a few rows per group instead of ranking every match (issue 14; see
``sat_backend/memory/pubsub_fts_terms.py``). Items already cached are indexed now, from
their ``search_text`` (SQLite) or ``search_vector`` (PostgreSQL).

The DDL is imported from ``pubsub_fts_terms`` rather than copied, so that a new database
and a migrated one are identical; if that DDL ever changes, a new revision must drop and
recreate the table (the SQLite triggers were replaced by 0010: this revision still makes
its own, ``SQLITE_TRIGGERS_0008``). A later batch (table-recreating) change of ``pubsub_items`` on
SQLite must drop and recreate it too: its triggers go with the old table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 14:30:00.000000

"""
from typing import Sequence, Union

from alembic import op

from sat_backend.memory import pubsub_fts_terms


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pubsub_fts_terms.create_term_index(op.get_bind(), pubsub_fts_terms.SQLITE_TRIGGERS_0008)


def downgrade() -> None:
    pubsub_fts_terms.drop_term_index(op.get_bind())
