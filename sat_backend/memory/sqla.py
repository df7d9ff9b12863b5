"""Storage: the backend's only door to the database, with intent-named async methods.

SQLAlchemy's async engine runs on aiosqlite (default, a file in the XDG data dir) or
asyncpg (PostgreSQL). On SQLite, short statements (params, private values, one message
of history) go through a second engine whose connections run on the loop's thread
(:mod:`.sqlite_in_loop`): :meth:`Storage.reading` and :meth:`Storage.writing`; scans and
everything else use :meth:`Storage.session` (see doc/developer.rst, storage execution).
On an SQLite file at head the start and the start's reads (:mod:`.start_sql`) run as
plain ``sqlite3`` SQL, and this module imports no SQLAlchemy until a call needs it (an
engine, a session, a write): SQLAlchemy, the async engine and the ORM it imports (~80
ms of CPU) come after the bus name is owned (doc/developer.rst, start). :meth:`Storage.initialise` detects the state of the database when
the backend starts and acts in process: an empty database is created from the tables
and stamped at the Alembic head; ours is migrated to head; anything else (not SQLite,
another application's tables, a revision from a newer SàT) stops the start with a clear
:class:`~sat_backend.core.exceptions.Database` error, and the file is not modified.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sat_backend.core.exceptions import BridgeError, Conflict, Database, ProfileUnknown
from sat_backend.core.lazy_import import lazy_module
from sat_backend.core.private_files import make_private, make_private_dir
from sat_backend.memory import start_sql
from sat_backend.memory.database_url import DatabaseUrl
from sat_backend.memory.disk_full import DiskFullWatch, is_disk_full
from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.lazy_orm import orm
from sat_backend.memory.plain_reads import PlainRead
from sat_backend.memory.stored_message import HistoryMessage, history_message
from sat_backend.memory.sqlite_in_loop import InLoopDatabase, WriteLockTimeout
from sat_backend.memory.sqlite_start import is_at_head

if TYPE_CHECKING:  # SQLAlchemy and the modules built on it: imported by the first call that needs them
    from sqlalchemy import URL, Connection, Select, Table
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

    from sat_backend.memory import history_writes, migration, start_statements
    from sat_backend.memory import short_statements as sql
    from sat_backend.memory.engine_calls import EngineCalls
    from sat_backend.memory.history_query import HistoryQuery
    from sat_backend.memory.history_writes import StatementRunner
else:
    history_writes = lazy_module("sat_backend.memory.history_writes")
    migration = lazy_module("sat_backend.memory.migration")
    sql = lazy_module("sat_backend.memory.short_statements")
    start_statements = lazy_module("sat_backend.memory.start_statements")

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"

T = TypeVar("T")
#: a value table (Core, for writes) or the plain read of one (for reads)
Scope = TypeVar("Scope")


class Storage:
    """Persistent state of one backend. Create, then ``await initialise()``."""

    def __init__(self, db_url: str) -> None:
        #: the URL's parts a start needs, read without SQLAlchemy on SQLite
        self._url = DatabaseUrl(db_url)
        #: the async engine (aiosqlite or asyncpg), made by :attr:`engine` when first needed
        self._engine: AsyncEngine | None = None
        self._initialised = False
        #: what runs :meth:`reading`/:meth:`writing`: on an SQLite file, connections on the loop's thread
        self.short_calls: InLoopDatabase | EngineCalls | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._profile_ids: dict[str, int] = {}
        #: bumped by each deletion: a lookup running meanwhile does not cache an old id
        self._profile_ids_generation = 0
        #: whether writes fail for lack of space (listeners are told of each change)
        self.disk = DiskFullWatch(self.location)

    @property
    def engine(self) -> AsyncEngine:
        """The async engine of sessions and scans. On an SQLite file it is made (with
        ``sqlalchemy.ext.asyncio``, which imports the ORM) by the first call that needs
        it, after the start: the start and the short calls run Core statements on the
        loop's connections (doc/developer.rst, start).

        :raises Database: storage is not initialised.
        """
        if self._engine is None:
            if not self._initialised:
                raise Database("storage is not initialised")
            self._engine = self._new_engine()
        return self._engine

    @property
    def url(self) -> URL:
        """SQLAlchemy's URL (imports SQLAlchemy: not on an SQLite start)."""
        return self._url.sqlalchemy_url

    def _new_engine(self) -> AsyncEngine:
        from sqlalchemy import event
        from sqlalchemy.ext.asyncio import create_async_engine  # imports the ORM: not on a start

        engine = create_async_engine(self.url)
        if self.is_sqlite:
            event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine

    @property
    def _in_loop(self) -> bool:
        """Whether the database is an SQLite file, whose short calls run on the loop's thread."""
        return self.is_sqlite and self._url.database not in (None, "", ":memory:")

    @property
    def is_sqlite(self) -> bool:
        return self._url.backend == "sqlite"

    @property
    def location(self) -> str:
        """Where the data is, for messages (never includes a password of the URL)."""
        if self.is_sqlite:
            return self._url.database or ":memory:"
        return self.url.render_as_string(hide_password=True)

    # lifecycle ---------------------------------------------------------------------

    async def initialise(self) -> None:
        """Create or migrate the database to the current schema.

        :raises Database: the database is unusable; nothing was changed.
        """
        if self.is_sqlite:
            self._check_sqlite_file()
        try:
            if self._in_loop:
                self._prepare_file()
            else:
                self._engine = self._new_engine()
                async with self._engine.begin() as connection:
                    await connection.run_sync(self._prepare_schema)
        except BridgeError:
            await self.close()
            raise
        except Exception as exc:
            if not (_is_storage_error(exc) or isinstance(exc, OSError)):
                raise
            await self.close()
            raise Database(f"cannot open the database {self.location}: {_describe(exc)}") from exc
        self._initialised = True
        if self._in_loop:
            assert self._url.database
            self.short_calls = InLoopDatabase(self._url.database, self._url.text, _sqlite_on_connect)
        else:
            from sat_backend.memory.engine_calls import EngineCalls

            self.short_calls = EngineCalls(self.engine)

    def _prepare_file(self) -> None:
        """Check, create or migrate an SQLite file. At head (the common start) the check
        is a plain read of the stored revision on a ``sqlite3`` connection
        (:func:`~.sqlite_start.is_at_head`); anything else is created or migrated on a
        plain ``sqlite3`` connection of Core's (the loop waits for it, as the start did
        for the worker's thread), so that the start does not import the async extension
        and with it the ORM."""
        assert self._url.database
        if is_at_head(self._url.database, _sqlite_on_connect):
            return
        from sqlalchemy import create_engine, event

        engine = create_engine(self.url.set(drivername="sqlite+pysqlite"))
        event.listen(engine, "connect", _sqlite_on_connect)
        try:
            with engine.begin() as connection:
                self._prepare_schema(connection)
            with engine.connect() as connection:
                # persistent in the file; set only once the file is known to be ours
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        finally:
            engine.dispose()

    async def close(self) -> None:
        if self.short_calls is not None:
            await self.short_calls.close()
            self.short_calls = None
        self._initialised = False
        self._sessions = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    def _check_sqlite_file(self) -> None:
        database = self._url.database
        if not database or database == ":memory:":
            return
        path = Path(database)
        if path.exists():
            with path.open("rb") as db_file:
                header = db_file.read(len(SQLITE_HEADER))
            if header and header != SQLITE_HEADER:
                raise Database(
                    f"{path} is not an SQLite database (corrupt or another kind of file); "
                    "it was left untouched: move it away to start with a new database"
                )
        _make_database_files_private(path)

    def _prepare_schema(self, connection: Connection) -> None:
        from sqlalchemy import inspect

        from sat_backend.memory.tables import metadata

        tables = set(inspect(connection).get_table_names())
        if not tables:
            log.info("creating a new database in %s", self.location)
            metadata.create_all(connection)
            migration.stamp_head(connection)
            return
        if migration.VERSION_TABLE not in tables:
            shown = ", ".join(sorted(tables)[:5]) + ("…" if len(tables) > 5 else "")
            raise Database(
                f"{self.location} is not a SàT database (it has other tables: {shown}); "
                "it was left untouched"
            )
        current = migration.current_revision(connection)
        if not migration.is_known(current):
            raise Database(
                f"{self.location} was made by a newer SàT (schema revision {current}); "
                "it was left untouched: upgrade SàT to use it"
            )
        if current != migration.head_revision():
            log.info("migrating %s from %s to %s", self.location, current, migration.head_revision())
            migration.upgrade_head(connection)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction: committed on success, rolled back on error; storage errors
        become :class:`Database` without bound values (they may hold secrets)."""
        if self._sessions is None:
            self._sessions = _session_maker(self.engine)
        wrote = False
        with self._translated_errors():
            async with self._sessions() as session, session.begin():
                yield session
                wrote = bool(session.new or session.dirty or session.deleted)
        if wrote:
            self.disk.write_succeeded()

    @asynccontextmanager
    async def scanning(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the worker-thread engine for reads that may scan (a count
        growing with the data: never on the loop's thread), Core statements only: no
        ORM session to build and close around them."""
        with self._translated_errors():
            async with self.engine.connect() as connection:
                yield connection

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for a few short reads (Core SQL), each statement its own
        transaction. On SQLite it runs on the loop's thread: bounded statements only
        (never a scan growing with the data)."""
        with self._translated_errors():
            async with self._short().reading() as connection:
                yield connection

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A short write transaction (Core SQL), committed when the block ends; on SQLite
        on the loop's thread, the write lock taken first (the loop runs while it waits).

        :raises Database: the lock stayed taken, the disk is full, or another storage error.
        """
        with self._translated_errors():
            async with self._short().writing() as connection:
                yield connection
        self.disk.write_succeeded()

    async def read_rows(self, statement: Select[Any] | PlainRead, values: Mapping[str, Any]) -> list[Any]:
        """The rows of one short select (bounded: an indexed look-up, a page) built once,
        a module constant or a cached builder's (its compiled form is kept): on
        PostgreSQL run by asyncpg itself (:mod:`.pg_reads`), on SQLite as :meth:`reading`.
        Rows have the statement's column names as attributes. A start's read is named
        by its :class:`PlainRead` (:mod:`.start_sql`): plain SQL on an SQLite file, its
        Core statement elsewhere.

        :raises Database: a storage error.
        """
        short = self._short()
        with self._translated_errors():
            if isinstance(short, InLoopDatabase):
                return await short.rows(statement, values)
            if isinstance(statement, PlainRead):
                statement = start_statements.READS[statement.name]
            return await short.rows(statement, values)

    def _short(self) -> InLoopDatabase | EngineCalls:
        if self.short_calls is None:
            raise Database("storage is not initialised")
        return self.short_calls

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        """Storage errors as :class:`Database` (never with bound values: they may hold
        secrets), :class:`Conflict` or :class:`ProfileUnknown`."""
        generation = self._profile_ids_generation
        try:
            yield
        except BridgeError:
            raise
        except WriteLockTimeout as exc:
            raise Database(f"the database {self.location} is busy: {exc}") from None
        except Exception as exc:
            if not _is_storage_error(exc):
                raise
            if generation != self._profile_ids_generation and _lost_its_rows(exc):
                # a handler still storing for a profile deleted meanwhile: not a storage fault
                raise ProfileUnknown("the profile was deleted while this was being stored") from None
            if _is_integrity_error(exc):
                raise Conflict(f"storage conflict: {_describe(exc)}") from exc
            if is_disk_full(exc):
                self.disk.write_failed(_describe(exc))
                raise Database(f"the disk holding the database is full: {_describe(exc)}") from exc
            log.error("storage error: %s", _describe(exc))
            raise Database(f"storage error: {_describe(exc)}") from exc

    # profiles -----------------------------------------------------------------------

    async def profile_id(self, session: AsyncSession | AsyncConnection | None, name: str) -> int:
        """Row id of a profile; cached, since nearly every query needs it and profiles
        change only through this class. Read in ``session``, or by :meth:`read_rows` if None.

        :raises ProfileUnknown: no such profile.
        """
        cached = self._profile_ids.get(name)
        if cached is not None:
            return cached
        generation = self._profile_ids_generation
        if session is None:
            rows = await self.read_rows(start_sql.PROFILE_ID, {"name": name})
            profile_id = rows[0][0] if rows else None
        else:
            profile_id = await session.scalar(sql.PROFILE_ID, {"name": name})
        if profile_id is None:
            raise ProfileUnknown(f"there is no profile named {name!r}")
        if generation == self._profile_ids_generation:
            self._profile_ids[name] = profile_id
        return profile_id

    async def list_profiles(self) -> list[str]:
        """Profile names, oldest first."""
        return [row.name for row in await self.read_rows(start_sql.PROFILE_NAMES, {})]

    async def has_profile(self, name: str) -> bool:
        """Whether the profile exists (answered from the id cache when possible)."""
        if name in self._profile_ids:
            return True
        try:
            await self.profile_id(None, name)
        except ProfileUnknown:
            return False
        return True

    async def get_profile(self, name: str) -> StoredProfile | None:
        rows = await self.read_rows(start_sql.PROFILE, {"name": name})
        return StoredProfile(rows[0].id, rows[0].name, rows[0].created) if rows else None

    async def create_profile(self, name: str) -> StoredProfile:
        """:raises Conflict: a profile with this name exists."""
        try:
            async with self.session() as session:
                row = orm.Profile(name=name)
                session.add(row)
                await session.flush()
                return StoredProfile(row.id, row.name, row.created)
        except Conflict:
            raise Conflict(f"a profile named {name!r} already exists") from None

    async def delete_profile(self, name: str) -> None:
        """Delete a profile and, by cascade, every row that belongs to it.

        :raises ProfileUnknown: no such profile.
        """
        from sqlalchemy import delete

        from sat_backend.memory.tables import profiles

        self._forget_profile_id(name)
        try:
            async with self.session() as session:
                result = await session.execute(delete(profiles).where(profiles.c.name == name))
                if result.rowcount == 0:  # type: ignore[attr-defined]
                    raise ProfileUnknown(f"there is no profile named {name!r}")
        finally:  # a lookup that began before the commit may have cached the old id
            self._forget_profile_id(name)

    def _forget_profile_id(self, name: str) -> None:
        self._profile_ids_generation += 1
        self._profile_ids.pop(name, None)

    # params -------------------------------------------------------------------------

    async def get_param(self, category: str, name: str, profile: str | None) -> str | None:
        """Stored value of a param (None: never set). ``profile`` None = general param."""
        return await self._read_value(start_sql.PARAM_GENERAL, start_sql.PARAM_INDIVIDUAL,
                                      {"category": category, "name": name}, profile)

    async def set_param(self, category: str, name: str, value: str, profile: str | None) -> None:
        await self._write_value(sql.params_general, sql.params_individual,
                                {"category": category, "name": name, "value": value}, profile)

    async def get_profile_params(self, profile: str) -> dict[tuple[str, str], str]:
        """Every stored param of a profile, by (category, name)."""
        rows = await self.read_rows(start_sql.PROFILE_PARAMS, {"profile_id": await self.profile_id(None, profile)})
        return {(category, name): value for category, name, value in rows}

    # private data -------------------------------------------------------------------

    async def get_private(self, namespace: str, key: str, profile: str | None = None) -> Any | None:
        """JSON value stored by the core or a plugin (None when absent)."""
        return await self._read_value(start_sql.PRIVATE_GENERAL, start_sql.PRIVATE_INDIVIDUAL,
                                      {"namespace": namespace, "key": key}, profile)

    async def set_private(self, namespace: str, key: str, value: Any, profile: str | None = None) -> None:
        await self._write_value(sql.private_general, sql.private_individual,
                                {"namespace": namespace, "key": key, "value": value}, profile)

    async def delete_private(self, namespace: str, key: str, profile: str | None = None) -> None:
        async with self.writing() as connection:
            table, parameters = await self._scoped(
                connection, sql.private_general, sql.private_individual, {"namespace": namespace, "key": key}, profile
            )
            await connection.execute(sql.DELETE_VALUE[table], parameters)

    async def _read_value(
        self, general: PlainRead, individual: PlainRead, key: dict[str, Any], profile: str | None
    ) -> Any:
        read, parameters = await self._scoped(None, general, individual, key, profile)
        rows = await self.read_rows(read, parameters)
        return rows[0][0] if rows else None

    async def _write_value(self, general: Table, individual: Table, row: dict[str, Any], profile: str | None) -> None:
        async with self.writing() as connection:
            table, parameters = await self._scoped(connection, general, individual, row, profile)
            await connection.execute(sql.upsert_value(table, self._url.backend), parameters)

    async def _scoped(
        self, connection: AsyncConnection | None, general: Scope, individual: Scope, key: dict[str, Any],
        profile: str | None,
    ) -> tuple[Scope, dict[str, Any]]:
        """The table and bound values of a value that exists in two scopes: shared
        (``profile`` None) or per profile."""
        if profile is None:
            return general, key
        return individual, {**key, "profile_id": await self.profile_id(connection, profile)}

    # history ------------------------------------------------------------------------

    async def add_to_history(
        self, profile: str, entry: HistoryEntry, *, new_ids: bool = False,
        then: Callable[[StatementRunner, int], Awaitable[None]] | None = None,
    ) -> bool:
        """Store a message with its bodies and subjects, in one transaction (see
        :func:`~sat_backend.memory.history_writes.store_entry`).

        :param then: more statements of the same transaction, run once the message is
            stored (a message we send moves its conversation's read point: one commit
            instead of two per message sent).
        :returns: False when it was already stored: the caller must not announce it again.
        """
        async def store(run: StatementRunner, profile_id: int) -> bool:
            stored = await history_writes.store_entry(run, profile_id, entry, new_ids)
            if stored and then is not None:
                await then(run, profile_id)
            return stored

        return await self.hot_write(profile, store)

    async def add_all_to_history(self, profile: str, entries: Sequence[HistoryEntry]) -> list[bool]:
        """Store received messages in order, in one transaction: a burst costs one commit
        instead of one per message (see :func:`~sat_backend.memory.history_writes.store_entry`).

        :returns: for each entry, False when it was already stored (an entry met earlier
            in the same call included): the caller must not announce it again.
        """
        async def store(run: StatementRunner, profile_id: int) -> list[bool]:
            return [await history_writes.store_entry(run, profile_id, entry, False) for entry in entries]

        return await self.hot_write(profile, store)

    async def hot_write(self, profile: str, work: Callable[[StatementRunner, int], Awaitable[T]]) -> T:
        """Run ``work`` (a few bounded statements, through the runner it is given, with the
        profile's row id) in one short write transaction, for the paths every message
        takes: on an SQLite file the statements run as plain SQL on the loop's
        ``sqlite3`` connection (:class:`~sat_backend.memory.history_writes.PlainRunner`),
        elsewhere through SQLAlchemy.

        :raises Database: as :meth:`writing`.
        :raises ProfileUnknown: no such profile.
        """
        short = self._short()
        if isinstance(short, InLoopDatabase):
            with self._translated_errors():
                profile_id = await self.profile_id(None, profile)
                async with short.writing_plain() as raw:
                    result = await work(history_writes.PlainRunner(raw), profile_id)
            self.disk.write_succeeded()
            return result
        async with self.writing() as connection:
            return await work(history_writes.CoreRunner(connection, self._url.backend), await self.profile_id(connection, profile))

    async def delete_from_history(self, profile: str, uid: str) -> None:
        """Forget a message we stored but could not send (the session closed meanwhile)."""
        async with self.writing() as connection:
            await connection.execute(
                sql.DELETE_HISTORY, {"profile_id": await self.profile_id(connection, profile), "uid": uid}
            )

    async def get_history(self, profile: str, query: HistoryQuery) -> list[HistoryMessage]:
        """Messages matching ``query``, oldest first (the most recent ``limit`` ones)."""
        from sqlalchemy import func, select

        async with self.session() as session:
            history = orm.History
            statement = select(history).where(history.profile_id == await self.profile_id(session, profile))
            statement = statement.where(*query.conditions())
            # archives stamp to the second: messages of one second keep their arrival order,
            # which a catch-up makes the archive's (memory/history_order.py)
            arrival = func.coalesce(history.received_timestamp, history.timestamp)
            statement = statement.order_by(history.timestamp.desc(), arrival.desc(), history.id.desc())
            if query.limit:
                statement = statement.limit(query.limit)
            rows = [history_message(entry) for entry in await session.scalars(statement)]
        rows.reverse()
        return rows


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """A profile's row as storage hands it out (typed, not bound to a session)."""

    id: int
    name: str
    #: when the row was made: a profile deleted and made again under one name (SQLite
    #: may reuse the row id) is told apart by it
    created: float


def _make_database_files_private(path: Path) -> None:
    """The data directory (created 0700) and 0600 for a database file and its WAL/SHM
    made by an earlier release or by hand; new ones are 0600 through the daemon's umask
    (SQLite gives the WAL/SHM the database file's mode).

    :raises Database: the directory cannot be created, or a file's mode changed.
    """
    try:
        make_private_dir(path.parent)
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            make_private(file)
    except OSError as exc:
        raise Database(f"cannot prepare the data directory {path.parent}: {exc.strerror or exc}") from None


#: a write-ahead log larger than this (a big sync) is cut back to it once copied into
#: the database: SQLite otherwise keeps the file at its largest for reuse, and the
#: backend's connections live as long as it does
WAL_SIZE_LIMIT = 32 * 1024 * 1024


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # with WAL, NORMAL keeps the database consistent on a crash and only risks the last
    # commits on a power cut, for several times fewer fsyncs than FULL
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    cursor.close()


#: SQLSTATE of a foreign key violation (PostgreSQL)
_FOREIGN_KEY_VIOLATION = "23503"


def _session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    from sqlalchemy.ext.asyncio import async_sessionmaker  # the ORM: not on a start

    return async_sessionmaker(engine, expire_on_commit=False)


def _is_storage_error(exc: Exception) -> bool:
    """A driver's or SQLAlchemy's error (SQLAlchemy's only if it is imported: a start
    on SQLite runs plain ``sqlite3``)."""
    if isinstance(exc, sqlite3.Error):
        return True
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)


def _is_integrity_error(exc: Exception) -> bool:
    errors = sys.modules.get("sqlalchemy.exc")
    return isinstance(exc, sqlite3.IntegrityError) or (errors is not None and isinstance(exc, errors.IntegrityError))


def _lost_its_rows(exc: Exception) -> bool:
    """Whether the error is what a row deleted under the transaction causes: an insert
    referring to it (a foreign key violation) or an update finding it gone."""
    orm_errors = sys.modules.get("sqlalchemy.orm.exc")  # not imported: no ORM flush ran
    if orm_errors is not None and isinstance(exc, orm_errors.StaleDataError):
        return True
    if not _is_integrity_error(exc):
        return False
    original = getattr(exc, "orig", None) or exc
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code == _FOREIGN_KEY_VIOLATION or "FOREIGN KEY constraint failed" in str(original)


def _describe(exc: BaseException) -> str:
    """First line of the driver's message: names the problem, never the bound values."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}"


__all__ = ["Storage"]
