"""Storing one message of history, and the two runners of the writes every message takes.

The same few statements (an origin-id look-up, the ``history`` insert, its bodies and
subjects) run on PostgreSQL (and an in-memory SQLite) through SQLAlchemy's
``AsyncConnection``, and on an SQLite file as plain SQL on the loop's own ``sqlite3``
connection (:class:`~sat_backend.memory.sqlite_in_loop.PlainStatement`, compiled once
from the same Core statements): there SQLAlchemy's execution of a statement (greenlet
switch, execution context, result object) cost several times the statement itself,
three or four times per message sent or received (issue 14: ``MessageSend``).
:meth:`~sat_backend.memory.sqla.Storage.hot_write` picks the runner; the read point a
message we send moves (:mod:`~sat_backend.memory.read_state_storage`) goes the same way.
"""

from __future__ import annotations

import sqlite3
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Insert, Select, Update

from sat_backend.memory import short_statements as sql
from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.sqlite_in_loop import PlainStatement

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

Values = dict[str, Any]
Statement = Insert | Select[Any] | Update


class StatementRunner(Protocol):
    """Runs a Core statement (a list of values: once per row); the result has
    ``rowcount`` and ``fetchone()``."""

    #: the SQLAlchemy dialect name of the database ("sqlite", "postgresql")
    dialect: str

    async def run(self, statement: Statement, values: Values | list[Values]) -> Any: ...


class CoreRunner:
    """The statements on an SQLAlchemy connection (PostgreSQL, in-memory SQLite)."""

    def __init__(self, connection: AsyncConnection, dialect: str) -> None:
        self._connection = connection
        self.dialect = dialect

    async def run(self, statement: Statement, values: Values | list[Values]) -> Any:
        return await self._connection.execute(statement, values)


@cache
def _plain(statement: Statement, columns: tuple[str, ...] | None) -> PlainStatement:
    """Compiled once per statement (and columns an insert names), at first use."""
    return PlainStatement(statement, columns)


class PlainRunner:
    """The statements as plain SQL on the loop's ``sqlite3`` writing connection."""

    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def run(self, statement: Statement, values: Values | list[Values]) -> Any:
        rows = values if isinstance(values, list) else [values]
        plain = _plain(statement, tuple(rows[0]) if isinstance(statement, Insert) and rows else None)
        if isinstance(values, list):
            return self._connection.executemany(plain.sql, [plain.values(row) for row in values])
        return self._connection.execute(plain.sql, plain.values(values))


async def store_entry(runner: StatementRunner, profile_id: int, entry: HistoryEntry, new_ids: bool) -> bool:
    """Insert a message with its bodies and subjects (inside the caller's transaction).

    :param new_ids: its ids were made just now (a message we send): no copy of it can be
        stored, the look-up by origin-id is skipped.
    :returns: False when it was already stored (same uid, or same XEP-0359 stanza-id
        from the same archive, or our own message coming back by its origin-id).
    """
    if entry.origin_id and not new_ids and await _known_by_origin_id(runner, profile_id, entry):
        return False
    row = entry.row()
    row["profile_id"] = profile_id
    if (await runner.run(sql.insert_history(runner.dialect), row)).rowcount == 0:
        return False
    if entry.bodies:
        await runner.run(sql.INSERT_MESSAGES, entry.bodies_rows())
    if entry.subjects:
        await runner.run(sql.INSERT_SUBJECTS, entry.subjects_rows())
    return True


async def _known_by_origin_id(runner: StatementRunner, profile_id: int, entry: HistoryEntry) -> bool:
    """True when the same sender's message with this XEP-0359 origin-id is stored (our own
    message coming back from the archive); it then learns its archive stanza-id. Only
    the row is read (a catch-up asks this of each of our messages)."""
    known = (await runner.run(sql.KNOWN_BY_ORIGIN_ID, {
        "profile_id": profile_id, "source": entry.source, "origin_id": entry.origin_id,
    })).fetchone()
    if known is None:
        return False
    known_id, stanza_id = known
    if entry.stanza_id and stanza_id is None:
        await runner.run(sql.SET_STANZA_ID, {"known_id": known_id, "new_stanza_id": entry.stanza_id})
    return True
