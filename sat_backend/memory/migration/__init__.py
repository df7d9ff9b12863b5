"""Alembic migrations of the SàT database, run in process by the storage layer.

Developers create a revision from this directory (see doc/developer.rst)::

    cd sat_backend/memory/migration
    SAT_DB_URL=sqlite+aiosqlite:////tmp/dev.db ../../../.venv/bin/alembic revision --autogenerate -m "what changes"

The backend itself never shells out to ``alembic``: :func:`upgrade_head` runs the same
scripts on the connection it already has. Alembic (and Mako, Pygments) is imported only
to migrate: a start on a database already at head reads the stored revision with a plain
query and the head from the version files, and a new database is stamped at head the
same way (:func:`stamp_head`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, MetaData, PrimaryKeyConstraint, String, Table, column, select, table

from sat_backend.core.exceptions import Database
from sat_backend.memory.schema_revisions import (  # read without SQLAlchemy nor Alembic
    MIGRATION_DIR,
    VERSION_TABLE,
    head_revision,
    is_known,
    script_revisions,
)

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory


#: the stored revision (one row; several are branches, which a newer SàT made)
REVISION = select(table(VERSION_TABLE, column("version_num")).c.version_num)


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic comparison filter: the full-text index of pubsub items (an FTS5 virtual
    table and its shadow tables on SQLite, a generated tsvector column and its GIN index
    on PostgreSQL) is not a model, so ``alembic check`` and the models == head test must
    not see it."""
    from sat_backend.memory.pubsub_fts import is_index_object

    return not is_index_object(name, type_)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration pointing at this directory, optionally bound to a connection."""
    from alembic.config import Config

    config = Config(str(MIGRATION_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATION_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def current_revision(connection: Connection) -> str | None:
    """The revision stored in the database, by a plain query (no Alembic import).

    :raises Database: several revisions are stored (branches: a newer SàT made it).
    """
    stored = list(connection.scalars(REVISION))
    if len(stored) > 1:
        raise Database(f"the database has several schema revisions ({len(stored)}): a newer SàT made it")
    return stored[0] if stored else None


def upgrade_head(connection: Connection) -> None:
    upgrade(connection, "head")


def upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(connection), revision)


def stamp_head(connection: Connection) -> None:
    """Record a database just created from the models as being at head: the version
    table as Alembic makes it (``Impl.version_table_impl``: ``version_num`` VARCHAR(32),
    primary key ``alembic_version_pkc``) and the head read from the version files, so
    that the first start, too, runs without importing Alembic (with Mako and Pygments,
    some 4 MB the process would keep)."""
    versions = Table(
        VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )
    versions.create(connection)
    connection.execute(versions.insert().values(version_num=head_revision()))


def all_revisions() -> list[Script]:
    """Every migration script, newest first (used by the tests that walk them all)."""
    return list(_scripts().walk_revisions())
