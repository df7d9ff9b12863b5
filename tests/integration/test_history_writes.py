"""Storing a message of history on real databases: the SQLAlchemy statements (PostgreSQL,
in-memory SQLite) and the same statements as plain SQL on an SQLite file's loop
connection store the same rows and deduplicate the same way."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sat_backend.core.exceptions import Conflict, Database, ProfileUnknown
from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.history_query import HistoryQuery
from sat_backend.memory.history_writes import PlainRunner, StatementRunner
from sat_backend.memory.read_state_storage import move_read_point
from sat_backend.memory.sqla_mapping import ConversationRead
from sat_backend.memory.short_statements import INSERT_MESSAGES
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqlite_in_loop import InLoopDatabase
from tests.integration.test_storage import run_with_storage


def _entry(uid: str, **fields: Any) -> HistoryEntry:
    values: dict[str, Any] = dict(
        id=uid, timestamp=1_700_000_000.5, source="alice@example.org", dest="bob@example.org", type="chat",
        bodies={"": "hello", "fr": "salut"}, subjects={"en": "greeting"}, source_res="phone",
        extra={"thread": "t1", "n": 2},
    )
    values.update(fields)
    return HistoryEntry(**values)


def _run(url: str, scenario: Any) -> Any:
    """``scenario`` on a Storage of ``url`` where the profile "alice" exists."""

    async def with_alice(storage: Storage) -> Any:
        await storage.create_profile("alice")
        return await scenario(storage)

    return run_with_storage(url, with_alice)


def test_a_message_is_stored_once_with_its_texts(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        if database_url.startswith("sqlite"):
            assert isinstance(storage.short_calls, InLoopDatabase)  # the plain-SQL path is the one tested
        assert await storage.add_to_history("alice", _entry("m1"), new_ids=True)
        assert not await storage.add_to_history("alice", _entry("m1"))  # same uid
        (stored,) = await storage.get_history("alice", HistoryQuery())
        assert (stored.id, stored.source, stored.source_res, stored.extra) == (
            "m1", "alice@example.org", "phone", {"thread": "t1", "n": 2}
        )
        assert stored.bodies == {"": "hello", "fr": "salut"}
        assert stored.subjects == {"en": "greeting"}

    _run(database_url, scenario)


def test_our_message_back_from_the_archive_learns_its_stanza_id(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        assert await storage.add_to_history("alice", _entry("m1", origin_id="o1", stanza_id=None), new_ids=True)
        # the archive's copy: another uid, the same sender and origin-id, a stanza-id
        assert not await storage.add_to_history("alice", _entry("m2", origin_id="o1", stanza_id="archive-7"))
        # with new_ids the look-up is skipped: a new uid is a new message
        assert await storage.add_to_history("alice", _entry("m3", origin_id="o1"), new_ids=True)
        stored = await storage.get_history("alice", HistoryQuery())
        assert [(row.id, row.stanza_id) for row in stored] == [("m1", "archive-7"), ("m3", None)]

    _run(database_url, scenario)


def test_what_goes_with_a_sent_message_shares_its_transaction(database_url: str) -> None:
    """``then`` (the read point a message we send moves) is committed with the message,
    or rolled back with it."""
    async def scenario(storage: Storage) -> list[Any]:
        async def move(run: StatementRunner, profile_id: int) -> None:
            moves.append(await move_read_point(run, profile_id, "bob@example.org", 1_700_000_000.5, "m1"))

        async def move_then_fail(run: StatementRunner, profile_id: int) -> None:
            await move_read_point(run, profile_id, "carol@example.org", 1.0, "m2")
            raise Database("disk full")

        moves: list[bool] = []
        assert await storage.add_to_history("alice", _entry("m1"), new_ids=True, then=move)
        assert not await storage.add_to_history("alice", _entry("m1"), then=move)  # not stored: not run
        with pytest.raises(Database):
            await storage.add_to_history("alice", _entry("m2", dest="carol@example.org"), new_ids=True,
                                         then=move_then_fail)
        stored = await storage.get_history("alice", HistoryQuery())
        async with storage.session() as session:
            points = (await session.execute(select(ConversationRead.peer, ConversationRead.last_read_uid))).all()
        return [moves, [row.id for row in stored], [tuple(point) for point in points]]

    assert _run(database_url, scenario) == [[True], ["m1"], [("bob@example.org", "m1")]]


def test_received_messages_stored_together_keep_their_order_and_are_deduplicated(database_url: str) -> None:
    """:meth:`Storage.add_all_to_history` (a burst in one transaction) says, for each entry,
    what :meth:`Storage.add_to_history` would have said storing them one by one: a copy
    met earlier in the same call counts as stored."""
    async def scenario(storage: Storage) -> list[Any]:
        assert await storage.add_to_history("alice", _entry("m0"), new_ids=True)
        stored = await storage.add_all_to_history("alice", [
            _entry("m1", origin_id="o1", timestamp=1.0),
            _entry("m0"),  # stored before
            _entry("m2", origin_id="o1", timestamp=2.0),  # the same sender's origin-id as m1
            _entry("m1"),  # the same uid as the first
            _entry("m3", origin_id="o3", timestamp=3.0, bodies={"": "three"}),
        ])
        history = await storage.get_history("alice", HistoryQuery())
        return [stored, [(row.id, row.bodies) for row in history]]

    assert _run(database_url, scenario) == [
        [True, False, False, False, True],
        [("m1", {"": "hello", "fr": "salut"}), ("m3", {"": "three"}), ("m0", {"": "hello", "fr": "salut"})],
    ]


def test_received_messages_stored_together_are_rolled_back_together(database_url: str) -> None:
    async def scenario(storage: Storage) -> list[str]:
        with pytest.raises(Conflict):
            await storage.add_all_to_history("alice", [_entry("m1"), _entry("m2", timestamp=None)])  # NOT NULL
        assert await storage.add_all_to_history("alice", [_entry("m3")]) == [True]
        return [row.id for row in await storage.get_history("alice", HistoryQuery())]

    assert _run(database_url, scenario) == ["m3"]


def test_a_deleted_profile_is_profile_unknown(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        with pytest.raises(ProfileUnknown):
            await storage.add_to_history("nobody", _entry("m1"))

    _run(database_url, scenario)


def test_plain_sql_stores_the_rows_sqlalchemy_stores(tmp_path: Path) -> None:
    """The same entries through the Core statements (an in-memory database has no loop
    connection) and through plain SQL give the same columns, JSON included."""
    entries = [_entry("m1"), _entry("m2", extra=None, subjects={}, source_res=None, received_timestamp=2.25)]

    async def through_core() -> list[tuple[Any, ...]]:
        storage = Storage("sqlite+aiosqlite://")
        await storage.initialise()
        try:
            assert not isinstance(storage.short_calls, InLoopDatabase)
            await storage.create_profile("alice")
            for entry in entries:
                await storage.add_to_history("alice", entry)
            assert storage.engine is not None
            async with storage.engine.connect() as connection:
                result = await connection.exec_driver_sql(ROWS)
                return [tuple(row) for row in result]
        finally:
            await storage.close()

    async def through_plain() -> None:
        storage = Storage(f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}")
        await storage.initialise()
        try:
            await storage.create_profile("alice")
            for entry in entries:
                await storage.add_to_history("alice", entry)
        finally:
            await storage.close()

    expected = asyncio.run(through_core())
    asyncio.run(through_plain())
    with sqlite3.connect(tmp_path / "sat.db") as connection:
        assert [tuple(row) for row in connection.execute(ROWS)] == expected
    assert len(expected) == 7  # two rows of history, four bodies, one subject


def test_plain_runner_takes_a_list_as_many_rows(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "t.db")
    connection.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, history_id, message, language)")
    asyncio.run(PlainRunner(connection).run(INSERT_MESSAGES, [
        {"history_id": "h", "message": "a", "language": None}, {"history_id": "h", "message": "b", "language": "fr"},
    ]))
    assert connection.execute("SELECT history_id, message, language FROM messages ORDER BY id").fetchall() == [
        ("h", "a", None), ("h", "b", "fr")
    ]


ROWS = """
SELECT 'history', h.id, h.stanza_id, h.origin_id, h.timestamp, h.received_timestamp, h.source, h.source_res,
       h.dest, h.dest_res, h.type, h.extra, h.message_id, h.retracted, p.name
FROM history h JOIN profiles p ON p.id = h.profile_id
UNION ALL SELECT 'body', history_id, message, language, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM messages
UNION ALL SELECT 'subject', history_id, subject, language, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM subjects
ORDER BY 1, 2, 3
"""
