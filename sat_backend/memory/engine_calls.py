"""Short storage calls on the async engine itself: PostgreSQL (asyncpg), or an SQLite
``:memory:`` database, which a second engine could not share.

The same ``reading()`` / ``writing()`` as :class:`~.sqlite_in_loop.InLoopDatabase`.
A read is one round trip: its connection is in autocommit (no ``BEGIN``/``ROLLBACK``),
and one such connection is kept open so a read skips the pool's check-out and return
(each costs about as much as the statement). An ``AsyncConnection`` must not serve two
tasks at once, so a read that finds it busy takes one from the pool instead.

:meth:`EngineCalls.rows` runs one short select the same way; on PostgreSQL it is run by
asyncpg itself on that connection (:mod:`.pg_reads`), skipping SQLAlchemy's execution,
which cost several times the statement (issue 14).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class EngineCalls:
    """Short reads and writes of one async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reader: AsyncConnection | None = None
        #: the reader's asyncpg connection (PostgreSQL), for :meth:`rows`
        self._reader_driver: Any = None
        self._reader_busy = asyncio.Lock()
        #: run selects with asyncpg itself (:mod:`.pg_reads`)
        self._asyncpg = engine.dialect.driver == "asyncpg"

    async def close(self) -> None:
        await self._drop_reader()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection in autocommit: each statement sees the last commit."""
        if self._reader_busy.locked():
            async with self._connection(self._autocommit) as connection:
                yield connection
            return
        async with self._reader_busy:
            if self._reader is None:
                self._reader = await self._autocommit.connect()
            try:
                yield self._reader
            except BaseException:
                if self._reader is not None and self._reader.invalidated:
                    await self._drop_reader()
                raise

    async def _drop_reader(self) -> None:
        """Close the kept reader (and forget its driver connection)."""
        reader, self._reader, self._reader_driver = self._reader, None, None
        if reader is not None:
            await reader.close()

    async def rows(self, statement: Select[Any], values: Mapping[str, Any]) -> list[Any]:
        """The rows of one short select built once (a module constant or a cached
        builder's), on the reading connection: on PostgreSQL run by asyncpg itself.

        :raises DBAPIError: the driver failed.
        """
        async with self.reading() as connection:
            if not self._asyncpg:
                return list((await connection.execute(statement, values)).all())
            return await _fetch(connection, await self._driver_of(connection), statement, values)

    async def _driver_of(self, connection: AsyncConnection) -> Any:
        """asyncpg's connection under ``connection``, kept for the reader (asking for it
        is a greenlet switch)."""
        if connection is not self._reader:
            return await _driver(connection)
        if self._reader_driver is None:
            self._reader_driver = await _driver(connection)
        return self._reader_driver

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A transaction, committed when the block ends, rolled back if it raises."""
        async with self._connection(self.engine) as connection:
            await connection.begin()
            try:
                yield connection
            except BaseException:
                await connection.rollback()
                raise
            await connection.commit()

    @asynccontextmanager
    async def _connection(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        """A pooled connection, closed by hand: ``async with engine.connect()`` closes it
        in a task of its own, two more turns of the loop per call."""
        connection = await engine.connect()
        try:
            yield connection
        finally:
            await connection.close()


async def _driver(connection: AsyncConnection) -> Any:
    """The driver's own connection under ``connection`` (asyncpg's)."""
    return (await connection.get_raw_connection()).driver_connection


async def _fetch(connection: AsyncConnection, driver: Any, statement: Select[Any], values: Mapping[str, Any]) -> list[Any]:
    """:func:`~.pg_reads.fetch_rows` on ``driver``; ``connection`` (its SQLAlchemy side,
    which does not see the call) invalidated, as SQLAlchemy does it, when the call closed
    the driver's connection or was interrupted (cancelled: the server may still be
    answering it)."""
    from sat_backend.memory.pg_reads import fetch_rows  # loaded on PostgreSQL only

    try:
        return await fetch_rows(driver, statement, values)
    except BaseException as exc:
        if driver.is_closed() or not isinstance(exc, Exception):
            await connection.invalidate()
        raise
