"""Short storage calls on the async engine itself: PostgreSQL (asyncpg), or an SQLite
``:memory:`` database, which a second engine could not share.

The same ``reading()`` / ``writing()`` as :class:`~.sqlite_in_loop.InLoopDatabase`.
A read is one round trip: its connection is in autocommit (no ``BEGIN``/``ROLLBACK``),
and one such connection is kept open so a read skips the pool's check-out and return
(each costs about as much as the statement). An ``AsyncConnection`` must not serve two
tasks at once, so a read that finds it busy takes one from the pool instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class EngineCalls:
    """Short reads and writes of one async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reader: AsyncConnection | None = None
        self._reader_busy = asyncio.Lock()

    async def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.close()

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
                    reader, self._reader = self._reader, None
                    await reader.close()
                raise

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
