"""SQLite statements run on the event loop's own thread, for the short ones.

aiosqlite runs each statement in a worker thread and hands the result back through the
loop: two thread hops, about 1 ms per transaction on our machine, while the statement
itself takes a few µs. :class:`LoopConnection` looks like an ``aiosqlite.Connection``
to SQLAlchemy's aiosqlite dialect (given as ``async_creator``), so an ``AsyncEngine``
works unchanged on top of it, but every call runs at once on the calling thread and
never suspends.

The price: while a statement runs, nothing else of the reactor does. Only short,
bounded statements belong here (a param, a private value, one message of history);
scans whose cost grows with the data (full-text search, a node sync, a history query
without limit) stay on the worker-thread engine (see ``doc/developer.rst``, storage).
For the same reason the connection never waits for a lock inside SQLite
(``busy_timeout`` 0): :func:`begin_immediate` waits for the write lock by polling
from the loop, so a writer on the other engine, which needs the loop to go on, is never
blocked by us.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sat_backend.memory.plain_reads import PlainRead
from sat_backend.memory.wal_checkpoints import WalCheckpoints

if TYPE_CHECKING:  # a start on a database at head reads without SQLAlchemy (doc/developer.rst, start)
    from sqlalchemy import Connection, Engine, Insert, Select, Update
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

#: how long a write waits for the write lock held by another connection (the loop runs
#: meanwhile: see :func:`begin_immediate`)
WRITE_LOCK_WAIT = 5.0
#: at most this long of statements on the loop's thread in a row before the loop gets a turn
LOOP_SHARE = 0.005
#: page cache of each loop connection, in KiB
PAGE_CACHE_KIB = 512
#: page cache of the reading connection, in KiB: it also reads pages of up to 1,000
#: cached pubsub items (≈ 700 KiB of rows with their search text); in a smaller cache
#: such a read evicted its own pages and read them again from the file every time
#: (176 ``pread`` a read, ≈ 0.6 ms of system time, issue 14)
READER_PAGE_CACHE_KIB = 2048
#: first pause between two attempts at the write lock; doubled up to :data:`LOCK_POLL_MAX`
LOCK_POLL_FIRST = 0.001
LOCK_POLL_MAX = 0.05


class PlainStatement:
    """A Core statement compiled once for SQLite into its SQL text and the conversions of
    its bound values (JSON, floats), to run on a ``sqlite3`` connection as it is: the
    Core statement stays the one source of the SQL."""

    def __init__(self, statement: Insert | Select[Any] | Update, column_keys: Sequence[str] | None = None) -> None:
        from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect  # a PostgreSQL start never needs it

        dialect = sqlite_dialect(paramstyle="named")
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        self.sql = str(compiled)
        self._conversions = {
            name: conversion for name, bind in compiled.binds.items()
            if (conversion := bind.type.bind_processor(dialect)) is not None
        }
        #: what each conversion makes of None, worked out once: most rows leave the
        #: converted columns empty (a message's ``extra``: JSON ``null``, a ``json.dumps``)
        self._of_none = {name: conversion(None) for name, conversion in self._conversions.items()}

    def values(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` with each value as the column stores it."""
        if not self._conversions:
            return row
        converted = dict(row)
        of_none = self._of_none
        for name, conversion in self._conversions.items():
            if name in converted:
                value = converted[name]
                converted[name] = of_none[name] if value is None else conversion(value)
        return converted


class WriteLockTimeout(Exception):
    """Another connection held the database's write lock for the whole wait."""


class LoopCursor:
    """The part of ``aiosqlite.Cursor`` SQLAlchemy uses, run synchronously."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> LoopCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> LoopCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _RunNow:
    """Stands for aiosqlite's queue of calls to its thread (the dialect puts the change
    of isolation level there): runs the call at once and settles its future."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def put_nowait(self, call: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = call
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting dialect, as aiosqlite does
            future.set_exception(exc)


class LoopConnection:
    """The part of ``aiosqlite.Connection`` SQLAlchemy uses, over a plain ``sqlite3``
    connection confined to the loop's thread (``check_same_thread`` stays on)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = connection
        self._tx = _RunNow(connection)

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """What the dialect checks to know whether the connection is still open."""
        return self._conn

    @property
    def raw(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def cursor(self) -> LoopCursor:
        return LoopCursor(self.raw.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> LoopCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self.raw.commit()

    async def rollback(self) -> None:
        self.raw.rollback()

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any],
                              deterministic: bool = False) -> None:
        self.raw.create_function(name, num_params, func, deterministic=deterministic)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close now (the dialect's ``terminate``)."""
        if self._conn is not None:
            connection, self._conn = self._conn, None
            connection.close()


def loop_sqlite(database: str) -> sqlite3.Connection:
    """A connection for the loop's thread: autocommit at the driver level (transactions
    are begun explicitly, see :func:`begin_immediate`), no busy wait inside SQLite."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=0)
    # short statements touch few pages: a smaller page cache than SQLite's 2 MiB
    # default, kept by each of these long-lived connections
    connection.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
    # never checkpoint the log on the loop: WalCheckpoints does, in its own thread
    connection.execute("PRAGMA wal_autocheckpoint=0")
    return connection


def plain_sqlite(database: str, on_connect: Callable[[Any, Any], None]) -> sqlite3.Connection:
    """A :func:`loop_sqlite` connection set up as the engines' are (``on_connect``:
    foreign keys, synchronous, WAL size limit), for plain SQL without SQLAlchemy."""
    connection = loop_sqlite(database)
    on_connect(connection, None)
    return connection


def connector(database: str) -> Callable[[], Any]:
    """The ``async_creator`` of an engine whose connections are :class:`LoopConnection`
    over :func:`loop_sqlite` connections."""

    async def connect() -> LoopConnection:
        return LoopConnection(loop_sqlite(database))

    return connect


async def begin_immediate(connection: LoopConnection, wait: float) -> None:
    """``BEGIN IMMEDIATE``: take the write lock now, so no statement of the transaction
    can find it taken later. While another connection holds it, retry with growing
    pauses that let the loop run (the holder may need it to finish).

    :raises WriteLockTimeout: still taken after ``wait`` seconds.
    """
    deadline = time.monotonic() + wait
    pause = LOCK_POLL_FIRST
    while True:
        try:
            connection.raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WriteLockTimeout(
                    f"the database's write lock stayed taken by another connection for {wait:g} s"
                ) from None
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, LOCK_POLL_MAX)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


class InLoopDatabase:
    """The loop-thread engine of one SQLite file, with one connection kept open for
    reads (autocommit: each statement sees the last commit) and one for writes (writers
    of this process take turns on it, each in a ``BEGIN IMMEDIATE`` transaction).

    Keeping both open skips the pool: a check-out and return cost more than the
    statement (the async engine closes a connection in a task of its own). Their commits
    are counted by :attr:`checkpoints`, which checkpoints the WAL off the loop.

    :meth:`rows` reads the start's selects (:mod:`.start_statements`: the nodes left
    mid-sync, profiles, params) as plain SQL on a third connection, without SQLAlchemy's
    execution, and any other select on a fourth, of a synchronous Core engine made by
    the first such read: the calls of a start and the common first ones then need
    neither the async extension nor the ORM it imports (~80 ms of CPU), made by
    :attr:`engine` when the first other call comes (doc/developer.rst, start).
    """

    def __init__(self, database: str, url: str, on_connect: Callable[[Any, Any], None]) -> None:
        """:param database: the file; :param url: its SQLAlchemy URL, for the engines."""
        self.url = url
        self._on_connect = on_connect
        self._engine: AsyncEngine | None = None
        self._database = database
        #: the engine of :meth:`rows` (Core only, on the loop's thread like the others),
        #: made by the first read that is not one of the start's
        self._core_engine: Engine | None = None
        self._core_reader: Connection | None = None
        #: the connection of the start's reads, run without SQLAlchemy (:mod:`.plain_reads`)
        self._plain_reader: sqlite3.Connection | None = None
        self.write_lock_wait = WRITE_LOCK_WAIT
        self._reader: AsyncConnection | None = None
        self._writer: AsyncConnection | None = None
        #: the writer's own sqlite3 side, for BEGIN IMMEDIATE and COMMIT
        self._writer_driver: LoopConnection | None = None
        self._write_turn = asyncio.Lock()
        self._loop_since = time.monotonic()
        #: a run of statements is under way: the loop had no turn since it began
        self._turn_pending = False
        self.checkpoints = WalCheckpoints(database)

    @property
    def core_engine(self) -> Engine:
        """The synchronous Core engine of :meth:`rows`, made when first needed."""
        if self._core_engine is None:
            from sqlalchemy import create_engine, event, make_url

            database = self._database
            self._core_engine = create_engine(
                make_url(self.url).set(drivername="sqlite+pysqlite"), creator=lambda: loop_sqlite(database)
            )
            event.listen(self._core_engine, "connect", self._on_connect)
        return self._core_engine

    @property
    def engine(self) -> AsyncEngine:
        """The async engine of :meth:`reading` and :meth:`writing`, made when first needed."""
        if self._engine is None:
            from sqlalchemy import event
            from sqlalchemy.ext.asyncio import create_async_engine  # imports the ORM: not on a start

            self._engine = create_async_engine(self.url, async_creator=connector(self._database))
            event.listen(self._engine.sync_engine, "connect", self._on_connect)
        return self._engine

    async def close(self) -> None:
        for connection in (self._reader, self._writer):
            if connection is not None:
                await connection.close()
        self._reader = self._writer = self._writer_driver = None
        if self._core_reader is not None:
            self._core_reader.close()
            self._core_reader = None
        if self._core_engine is not None:
            self._core_engine.dispose()
        if self._plain_reader is not None:
            self._plain_reader.close()
            self._plain_reader = None
        if self._engine is not None:
            await self._engine.dispose()
        await self.checkpoints.close()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """The reading connection, for a few bounded statements."""
        await self._share_loop()
        if self._reader is None:
            self._reader = await self.engine.connect()
            await self._reader.exec_driver_sql(f"PRAGMA cache_size=-{READER_PAGE_CACHE_KIB}")
        try:
            yield self._reader
        except BaseException:
            await self._discard_reader()
            raise

    async def rows(self, statement: Select[Any] | PlainRead, values: Mapping[str, Any]) -> list[Any]:
        """The rows of one bounded select: one of the start's as plain SQL (given as
        its :class:`PlainRead`), any other on the Core engine's reading connection."""
        await self._share_loop()
        if isinstance(statement, PlainRead):
            return self._plain_rows(statement, values)
        if self._core_reader is None:
            self._core_reader = self.core_engine.connect()
            self._core_reader.exec_driver_sql(f"PRAGMA cache_size=-{READER_PAGE_CACHE_KIB}")
        reader = self._core_reader
        try:
            return list(reader.execute(statement, dict(values)).all())
        except BaseException:
            if reader.invalidated:  # unusable after the error: the next read opens another
                self._core_reader = None
                reader.close()
            raise

    def _plain_rows(self, plain: PlainRead, values: Mapping[str, Any]) -> list[Any]:
        if self._plain_reader is None:
            self._plain_reader = plain_sqlite(self._database, self._on_connect)
            self._plain_reader.execute(f"PRAGMA cache_size=-{READER_PAGE_CACHE_KIB}")
        try:
            return plain.rows(self._plain_reader, values)
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, sqlite3.OperationalError):  # maybe unusable: the next read opens another
                reader, self._plain_reader = self._plain_reader, None
                reader.close()
            raise

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """The writing connection in a transaction holding the write lock: committed when
        the block ends, rolled back if it raises.

        :raises WriteLockTimeout: another connection held the lock for :attr:`write_lock_wait`.
        """
        async with _WriteTransaction(self) as (writer, _):
            yield writer

    def writing_plain(self) -> _PlainWrite:
        """As :meth:`writing`, but the ``sqlite3`` connection itself, for the
        :class:`PlainStatement` of a hot path: SQLAlchemy's execution (a greenlet switch,
        an execution context, a result) costs several times the statement.

        :raises WriteLockTimeout: another connection held the lock for :attr:`write_lock_wait`.
        """
        return _PlainWrite(self)

    async def _writing_connection(self) -> tuple[AsyncConnection, LoopConnection]:
        """The writing connection (opened at the first write, or again after one was
        invalidated) and its driver connection."""
        if self._writer is None or self._writer_driver is None:
            self._writer = await self.engine.connect()
            driver = (await self._writer.get_raw_connection()).driver_connection
            assert isinstance(driver, LoopConnection)
            self._writer_driver = driver
        return self._writer, self._writer_driver

    async def _discard_reader(self) -> None:
        """After an error the connection may be unusable (invalidated): the next read opens another."""
        if self._reader is not None and self._reader.invalidated:
            reader, self._reader = self._reader, None
            await reader.close()

    async def _share_loop(self) -> None:
        """Give the loop a turn when statements ran on its thread for :data:`LOOP_SHARE`
        in a row (they never suspend on their own).

        A run begins with the first statement after the loop had a turn (a callback
        scheduled at the run's start tells): the first statement after an idle moment
        does not yield (a loop turn cost a read of the pubsub cache ≈0.35 ms), only one
        that comes :data:`LOOP_SHARE` into a run without a turn.
        """
        if self._turn_pending and time.monotonic() - self._loop_since > LOOP_SHARE:
            await asyncio.sleep(0)  # _loop_turned runs first: it was scheduled earlier
        if not self._turn_pending:
            self._loop_since = time.monotonic()
            self._turn_pending = True
            asyncio.get_running_loop().call_soon(self._loop_turned)

    def _loop_turned(self) -> None:
        self._turn_pending = False


class _WriteTransaction:
    """One write transaction of an :class:`InLoopDatabase`: its turn, the write lock
    (``BEGIN IMMEDIATE``), then a commit when the block ends or a rollback if it raises.

    A class rather than an ``@asynccontextmanager``: every message stored goes through
    it, and the generator's machinery (an async generator a transaction, its finaliser
    hooks, ``contextlib``'s wrapper) cost more than the turn and the lock (issue 14)."""

    __slots__ = ("_database", "_writer", "_raw", "_changes_before")

    def __init__(self, database: InLoopDatabase) -> None:
        self._database = database

    async def __aenter__(self) -> tuple[AsyncConnection, LoopConnection]:
        database = self._database
        await database._share_loop()
        await database._write_turn.acquire()
        try:
            writer, raw = await database._writing_connection()
            await begin_immediate(raw, database.write_lock_wait)
        except BaseException:
            database._write_turn.release()
            raise
        self._writer, self._raw = writer, raw
        self._changes_before = raw.raw.total_changes
        return writer, raw

    async def __aexit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        database, raw = self._database, self._raw
        try:
            if exc_type is None:
                try:
                    raw.raw.commit()
                    database.checkpoints.committed(raw.raw.total_changes - self._changes_before)
                    return
                except BaseException:
                    await self._undo()
                    raise
            await self._undo()
        finally:
            database._write_turn.release()

    async def _undo(self) -> None:
        """After a failure: roll back what the transaction wrote; a connection left
        unusable is closed, and the next write opens another."""
        database, writer, raw = self._database, self._writer, self._raw
        if raw.in_transaction:
            raw.raw.rollback()
        if writer.invalidated:
            database._writer = database._writer_driver = None
            await writer.close()


class _PlainWrite(_WriteTransaction):
    """:class:`_WriteTransaction` giving the ``sqlite3`` connection itself
    (:meth:`InLoopDatabase.writing_plain`)."""

    __slots__ = ()

    async def __aenter__(self) -> sqlite3.Connection:  # type: ignore[override]
        _, raw = await super().__aenter__()
        return raw.raw
