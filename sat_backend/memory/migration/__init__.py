"""Alembic migrations of the SàT database, run in process by the storage layer.

Developers create a revision from this directory (see doc/developer.rst)::

    cd sat_backend/memory/migration
    SAT_DB_URL=sqlite+aiosqlite:////tmp/dev.db ../../../.venv/bin/alembic revision --autogenerate -m "what changes"

The backend itself never shells out to ``alembic``: :func:`upgrade_head` and
:func:`stamp_head` run the same scripts on the connection it already has.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection

MIGRATION_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic comparison filter: the full-text index of pubsub items (an FTS5 virtual
    table and its shadow tables on SQLite, a generated tsvector column and its GIN index
    on PostgreSQL) is not a model, so ``alembic check`` and the models == head test must
    not see it."""
    from sat_backend.memory.pubsub_fts import is_index_object

    return not is_index_object(name, type_)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration pointing at this directory, optionally bound to a connection."""
    config = Config(str(MIGRATION_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATION_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "no migration script found"
    return head


def is_known(revision: str | None) -> bool:
    """True if ``revision`` is one of our scripts (False: a newer SàT made the DB)."""
    if revision is None:
        return True
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_head(connection: Connection) -> None:
    upgrade(connection, "head")


def upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def stamp_head(connection: Connection) -> None:
    command.stamp(alembic_config(connection), "head")


def all_revisions() -> list[Script]:
    """Every migration script, newest first (used by the tests that walk them all)."""
    return list(_scripts().walk_revisions())
