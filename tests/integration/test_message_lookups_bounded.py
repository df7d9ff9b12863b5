"""The look-ups every received message or change makes, on real databases (SQLite file,
PostgreSQL), in a history where one peer and one room have thousands of messages: a
received message's origin-id (is it ours coming back?) and the message a change names
(XEP-0308, 0424, 0444) are found through the index of their id, not by reading the
conversation or the room (SQLite's query plan; on PostgreSQL the rows its executed plan
read). They find the same messages as before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, text

from sat_backend.memory import short_statements as sql
from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.message_changes_storage import (
    Conversation,
    MessageChangesStorage,
    RoomMessages,
    referenced_statement,
)
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import History
from tests.integration.query_plans import executed, history_access_sqlite, history_rows_read_postgresql

OWN, BOB, ROOM = "alice@example.org", "bob@example.org", "room@conference.example.org"
MESSAGES = 1500


def _history() -> list[dict[str, Any]]:
    """A long conversation with bob (both ways) and a long room history, every message
    with an origin-id, a stanza id and (in the room) the room's stanza-id."""
    rows = []
    for index in range(MESSAGES):
        source, dest = (BOB, OWN) if index % 2 else (OWN, BOB)
        rows.append({"id": f"c{index}", "timestamp": float(index), "source": source, "dest": dest, "type": "chat",
                     "origin_id": f"co{index}", "message_id": f"cm{index}"})
        rows.append({"id": f"r{index}", "timestamp": float(index), "source": ROOM, "source_res": f"nick{index % 7}",
                     "dest": OWN, "type": "groupchat", "origin_id": f"ro{index}", "message_id": f"rm{index}",
                     "stanza_id": f"rs{index}"})
    return rows


def _received(uid: str, source: str, dest: str, origin_id: str) -> HistoryEntry:
    return HistoryEntry(id=uid, timestamp=9000.0, source=source, dest=dest, type="chat", bodies={"": "hi"},
                        subjects={}, origin_id=origin_id)


async def _with_history(url: str, work: Callable[[Storage, int], Any]) -> Any:
    storage = Storage(url)
    await storage.initialise()
    try:
        await storage.create_profile("alice")
        async with storage.session() as session:
            profile_id = await storage.profile_id(session, "alice")
            await session.execute(insert(History), [{"profile_id": profile_id, **row} for row in _history()])
        return await work(storage, profile_id)
    finally:
        await storage.close()


async def _history_reads(storage: Storage, statements: list[tuple[str, Any]]) -> list[str]:
    """For each statement: on SQLite, how its plan reaches ``history``; on PostgreSQL,
    how many rows of it the executed plan read."""
    assert storage.engine is not None
    reads = []
    async with storage.engine.connect() as connection:
        if not storage.is_sqlite:
            await connection.execute(text("ANALYZE"))
        for statement, parameters in statements:
            if storage.is_sqlite:
                reads.extend(await history_access_sqlite(connection, statement, parameters))
            else:
                reads.append(str(await history_rows_read_postgresql(connection, statement, parameters)))
    return reads


def _assert_bounded(url: str, reads: list[str]) -> None:
    if url.startswith("sqlite"):
        # every access binds an id: never a walk of the profile's history by timestamp,
        # of a conversation, or of a room
        assert reads and all(
            any(bound in read for bound in ("(id=?)", "origin_id=?", "message_id=?", "stanza_id=?")) for read in reads
        ), reads
    else:
        assert all(int(read) <= 4 for read in reads), reads


def test_a_received_origin_id_is_looked_up_by_its_index(database_url: str) -> None:
    async def scenario(storage: Storage, profile_id: int) -> tuple[list[bool], list[str]]:
        ours_again = _received("new-1", OWN, BOB, origin_id="co10")
        bobs_old = _received("new-2", BOB, OWN, origin_id="co11")
        bobs_new = _received("new-3", BOB, OWN, origin_id="fresh")
        same_id_other_sender = _received("new-4", BOB, OWN, origin_id="co12")
        stored = [await storage.add_to_history("alice", entry)
                  for entry in (ours_again, bobs_old, bobs_new, same_id_other_sender)]

        async def look_up() -> None:
            assert storage.engine is not None
            async with storage.engine.connect() as connection:
                await connection.execute(sql.KNOWN_BY_ORIGIN_ID,
                                         {"profile_id": profile_id, "source": BOB, "origin_id": "co11"})

        return stored, await _history_reads(storage, await executed(storage, look_up))

    stored, reads = asyncio.run(_with_history(database_url, scenario))
    # known by the same sender's origin-id: not stored again; "co12" is ours, not bob's
    assert stored == [False, False, True, True]
    _assert_bounded(database_url, reads)


def test_the_message_a_change_names_is_looked_up_by_its_ids(database_url: str) -> None:
    conversation, room = Conversation(OWN, BOB), RoomMessages(ROOM)
    asked: list[tuple[str, Conversation | RoomMessages, bool]] = [
        ("co3", conversation, False),       # by origin-id, an old one
        ("cm1401", conversation, False),    # by stanza id
        ("nothing", conversation, False),   # none
        ("rm5", conversation, False),       # the room's, not this conversation's
        ("rm7", room, False),               # a room's, by stanza id
        ("rs9", room, True),                # by the room's stanza-id
        ("rs9", room, False),               # the room's id not asked for
        ("nothing", room, True),
    ]

    async def scenario(storage: Storage, profile_id: int) -> tuple[list[str | None], list[str]]:
        changes = MessageChangesStorage(storage)
        found = []
        for reference, where, by_stanza_id in asked:
            message = await changes.find_referenced("alice", reference, where, by_stanza_id=by_stanza_id)
            found.append(None if message is None else message.id)
        # the statements it ran (a short read, beside SQLAlchemy's engine), as SQL text
        assert storage.engine is not None
        statements = [
            (str(referenced_statement(isinstance(where, RoomMessages), by_stanza_id)
                 .params(profile_id=profile_id, reference_id=reference, **where.values())
                 .compile(dialect=storage.engine.dialect, compile_kwargs={"literal_binds": True})), ())
            for reference, where, by_stanza_id in asked
        ]
        return found, await _history_reads(storage, statements)

    found, reads = asyncio.run(_with_history(database_url, scenario))
    assert found == ["c3", "c1401", None, None, "r7", "r9", None, None]
    _assert_bounded(database_url, reads)
