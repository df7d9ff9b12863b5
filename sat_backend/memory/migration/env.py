"""Alembic environment: in process on the backend's connection, or from the CLI.

In process, the storage layer passes its (sync-facing) connection in
``config.attributes["connection"]``. From the ``alembic`` command, an async engine is
built from ``$SAT_DB_URL`` (default: the user's SQLite database).
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from sat_backend.memory import migration
from sat_backend.memory.tables import metadata

config = context.config
target_metadata = metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies tables instead
        render_as_batch=True,
        compare_type=True,
        include_name=migration.include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    url = os.environ.get("SAT_DB_URL")
    if url:
        return url
    from sat_backend.core.config import load_config

    return load_config().database_url


async def run_from_cli() -> None:
    engine = create_async_engine(database_url())
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, render_as_batch=True,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif "connection" in config.attributes:
    run_on(config.attributes["connection"])
else:
    asyncio.run(run_from_cli())
