"""Storing one message of history: the statements, run by either of two executors.

The same few statements (an origin-id look-up, the ``history`` insert, its bodies and
subjects) run on PostgreSQL (and an in-memory SQLite) through SQLAlchemy's
``AsyncConnection``, and on an SQLite file as plain SQL on the loop's own ``sqlite3``
connection (:class:`~sat_backend.memory.sqlite_in_loop.PlainStatement`, compiled once
from the same Core statements): there SQLAlchemy's execution of a statement (greenlet
switch, execution context, result object) cost several times the statement itself,
three or four times per message sent or received (issue 14: ``MessageSend``).
"""

from __future__ import annotations

import sqlite3
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Insert, Select, Update
from sqlalchemy.ext.asyncio import AsyncConnection

from sat_backend.memory import short_statements as sql
from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.sqlite_in_loop import PlainStatement

Values = dict[str, Any]


class StatementRunner(Protocol):
    """Runs one of :func:`history_statements`; the result has ``rowcount`` and ``fetchone()``."""

    async def run(self, name: str, values: Values | list[Values]) -> Any: ...


@cache
def history_statements(dialect: str) -> dict[str, tuple[Insert | Select[Any] | Update, tuple[str, ...] | None]]:
    """Each statement by name, with the columns an insert names (None: all of them)."""
    return {
        "known_by_origin_id": (sql.KNOWN_BY_ORIGIN_ID, None),
        "set_stanza_id": (sql.SET_STANZA_ID, None),
        "insert_history": (sql.insert_history(dialect), None),
        "insert_bodies": (sql.INSERT_MESSAGES, ("history_id", "message", "language")),
        "insert_subjects": (sql.INSERT_SUBJECTS, ("history_id", "subject", "language")),
    }


class CoreRunner:
    """The statements on an SQLAlchemy connection (PostgreSQL, in-memory SQLite)."""

    def __init__(self, connection: AsyncConnection, dialect: str) -> None:
        self._connection = connection
        self._statements = history_statements(dialect)

    async def run(self, name: str, values: Values | list[Values]) -> Any:
        return await self._connection.execute(self._statements[name][0], values)


@cache
def _plain_statements() -> dict[str, PlainStatement]:
    """Compiled at first use (a start compiles none of them)."""
    return {name: PlainStatement(statement, columns)
            for name, (statement, columns) in history_statements("sqlite").items()}


class PlainRunner:
    """The statements as plain SQL on the loop's ``sqlite3`` writing connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._statements = _plain_statements()

    async def run(self, name: str, values: Values | list[Values]) -> Any:
        statement = self._statements[name]
        if isinstance(values, list):
            return self._connection.executemany(statement.sql, [statement.values(row) for row in values])
        return self._connection.execute(statement.sql, statement.values(values))


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
    if (await runner.run("insert_history", row)).rowcount == 0:
        return False
    if entry.bodies:
        await runner.run("insert_bodies", entry.bodies_rows())
    if entry.subjects:
        await runner.run("insert_subjects", entry.subjects_rows())
    return True


async def _known_by_origin_id(runner: StatementRunner, profile_id: int, entry: HistoryEntry) -> bool:
    """True when the same sender's message with this XEP-0359 origin-id is stored (our own
    message coming back from the archive); it then learns its archive stanza-id. Only
    the row is read (a catch-up asks this of each of our messages)."""
    known = (await runner.run("known_by_origin_id", {
        "profile_id": profile_id, "source": entry.source, "origin_id": entry.origin_id,
    })).fetchone()
    if known is None:
        return False
    known_id, stanza_id = known
    if entry.stanza_id and stanza_id is None:
        await runner.run("set_stanza_id", {"known_id": known_id, "new_stanza_id": entry.stanza_id})
    return True
