"""Alembic migrations against real databases (SQLite file and PostgreSQL).

Proves the three promises of doc/developer.rst: the migration scripts build exactly the
schema of the models; every revision goes down and up again; the ``alembic`` command
works from ``sat_backend/memory/migration`` as documented.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from sat_backend.memory import migration
from sat_backend.memory.sqla_mapping import Base

ALEMBIC = str(Path(sys.executable).parent / "alembic")


def on_connection(url: str, work: Callable[[Connection], Any]) -> Any:
    """Run ``work`` on a sync-facing connection to ``url``, in one committed transaction."""

    async def main() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def schema_differences(connection: Connection) -> list[Any]:
    # the full-text index of pubsub items is not a model (FTS5 shadow tables, a generated
    # tsvector column): skipped the same way as in env.py
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": migration.include_name}
    )
    return list(compare_metadata(context, Base.metadata))


def user_tables(connection: Connection) -> set[str]:
    tables = set(inspect(connection).get_table_names()) - {migration.VERSION_TABLE}
    return {name for name in tables if migration.include_name(name, "table", {})}


def test_migrations_build_exactly_the_models(database_url: str) -> None:
    on_connection(database_url, migration.upgrade_head)
    assert on_connection(database_url, migration.current_revision) == migration.head_revision()
    assert on_connection(database_url, schema_differences) == []
    assert on_connection(database_url, user_tables) == set(Base.metadata.tables)


def test_every_revision_goes_down_and_up_again(database_url: str) -> None:
    on_connection(database_url, migration.upgrade_head)
    revisions = list(migration.all_revisions())  # newest first
    assert revisions, "no migration script"
    for revision in revisions:
        on_connection(database_url, lambda connection: migration.downgrade(connection, "-1"))
        assert on_connection(database_url, migration.current_revision) == revision.down_revision
    assert on_connection(database_url, user_tables) == set()
    on_connection(database_url, migration.upgrade_head)
    assert on_connection(database_url, schema_differences) == []


def test_a_database_of_the_first_release_is_migrated_at_start_with_its_data(database_url: str) -> None:
    from sqlalchemy import text

    from sat_backend.memory.sqla import Storage

    first = migration.all_revisions()[-1].revision
    on_connection(database_url, lambda connection: migration.upgrade(connection, first))
    on_connection(database_url, lambda connection: connection.execute(
        text("INSERT INTO profiles (name, created) VALUES ('alice', 1.0)")
    ))

    async def start() -> list[str]:
        storage = Storage(database_url)
        await storage.initialise()  # what the backend does when it starts
        try:
            return await storage.list_profiles()
        finally:
            await storage.close()

    assert asyncio.run(start()) == ["alice"]
    assert on_connection(database_url, migration.current_revision) == migration.head_revision()
    assert on_connection(database_url, schema_differences) == []


def test_alembic_command_works_from_the_migration_directory(database_url: str) -> None:
    """What a developer runs before writing a revision: `alembic upgrade head`, `alembic check`."""
    env = dict(os.environ, SAT_DB_URL=database_url)

    def alembic(*command: str) -> str:
        result = subprocess.run(
            [ALEMBIC, *command], cwd=migration.MIGRATION_DIR, env=env, capture_output=True,
            text=True, timeout=120, check=False,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        return result.stdout + result.stderr

    alembic("upgrade", "head")
    assert f"{migration.head_revision()} (head)" in alembic("current")
    assert "No new upgrade operations detected" in alembic("check")
