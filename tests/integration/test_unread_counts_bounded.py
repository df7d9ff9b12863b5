"""The unread counts of every conversation (``UnreadGet("")``) on real databases (SQLite
file, PostgreSQL): the same counts as a grouped count over the whole history, each
conversation counted from its own read point on, without reading the messages before it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text

from sat_backend.memory.read_state_storage import ReadStateStorage, _unread
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import ConversationRead, History
from tests.integration.query_plans import executed, history_access_sqlite, history_rows_read_postgresql

OWN = "alice@example.org"
BOB, CAROL, DAVE, EVE = "bob@example.org", "carol@example.org", "dave@example.org", "eve@example.org"
ROOM, HALL = "room@conference.example.org", "hall@conference.example.org"


def message(uid: str, timestamp: float, source: str, dest: str = OWN, kind: str = "chat",
            nick: str | None = None, retracted: float | None = None) -> dict[str, Any]:
    return {"id": uid, "timestamp": timestamp, "source": source, "source_res": nick, "dest": dest, "type": kind,
            "retracted": retracted}


#: every case the count must tell apart, read points marked in comments
HISTORY = [
    # bob, read up to 3.0 where two of his messages share the timestamp: both read
    message("b1", 1.0, BOB), message("b2", 3.0, BOB), message("b3", 3.0, BOB),
    message("b4", 4.0, BOB), message("b5", 5.0, BOB, kind="normal"),
    message("b6", 6.0, BOB, kind="headline"),                       # headlines never count
    message("b7", 7.0, BOB, retracted=8.0),                         # retracted: no longer counts
    message("a1", 4.5, OWN, dest=BOB), message("a2", 9.0, OWN, dest=BOB),   # ours, after the point
    # carol, read up to her last message: absent
    message("c1", 2.0, CAROL), message("c2", 2.5, CAROL),
    # dave, never read: all of his count
    message("d1", 0.5, DAVE), message("d2", 10.0, DAVE),
    # eve: only ours (a conversation we started), nothing to count
    message("a3", 11.0, OWN, dest=EVE),
    # a room read up to our own message (the same timestamp as an occupant's, read too)
    message("r1", 1.0, ROOM, nick="carol", kind="groupchat"), message("r2", 2.0, ROOM, nick="alice", kind="groupchat"),
    message("r3", 2.0, ROOM, nick="dave", kind="groupchat"), message("r4", 3.0, ROOM, nick="carol", kind="groupchat"),
    message("r5", 3.5, ROOM, kind="groupchat"),                      # the room's own (no nick): never counts
    message("r6", 4.0, ROOM, nick="dave", kind="groupchat"),
    # a room never read, with a private message through it (XEP-0045 PM, type chat)
    message("h1", 1.0, HALL, nick="eve", kind="groupchat"), message("h2", 2.0, HALL, nick="eve", dest=OWN),
    # a message of ours carbon-copied back with our bare JID as recipient: ours, not counted
    message("a4", 12.0, OWN, dest=OWN),
]
READ_POINTS = {BOB: 3.0, CAROL: 2.5, ROOM: 2.0, EVE: 11.0}
EXPECTED = {BOB: 2, DAVE: 2, ROOM: 2, HALL: 2}


async def with_storage(url: str, work: Callable[[Storage, ReadStateStorage], Any]) -> Any:
    storage = Storage(url)
    await storage.initialise()
    try:
        await storage.create_profile("alice")
        reads = ReadStateStorage(storage)
        return await work(storage, reads)
    finally:
        await storage.close()


async def store(storage: Storage, reads: ReadStateStorage, rows: list[dict[str, Any]],
                points: dict[str, float]) -> None:
    async with storage.session() as session:
        profile_id = await storage.profile_id(session, "alice")
        await session.execute(insert(History), [{"profile_id": profile_id, **row} for row in rows])
    for peer, until in points.items():
        await reads.mark_read("alice", peer, until, None)


async def grouped_count(storage: Storage) -> dict[str, int]:
    """The counts as the plain grouped query over the whole history (the one before the
    index) gives them: the reference the bounded counts must equal."""
    read = ConversationRead
    async with storage.session() as session:
        rows = (await session.execute(
            select(History.source, func.count())
            .outerjoin(read, and_(read.profile_id == History.profile_id, read.peer == History.source))
            .where(*_unread(OWN), or_(read.read_until.is_(None), History.timestamp > read.read_until))
            .group_by(History.source)
        )).all()
    return {source: count for source, count in rows}


def test_every_conversation_is_counted_from_its_own_read_point(database_url: str) -> None:
    async def scenario(storage: Storage, reads: ReadStateStorage) -> list[dict[str, int]]:
        await store(storage, reads, HISTORY, READ_POINTS)
        conversations = [BOB, CAROL, DAVE, EVE, ROOM, HALL, OWN, "nobody@example.org"]
        return [
            await reads.unread_counts("alice", OWN),
            await grouped_count(storage),
            await reads.unread_counts("alice", OWN, among=conversations),
            {peer: count for peer in conversations
             for count in (await reads.unread_counts("alice", OWN, peer)).values()},
        ]

    every, reference, among, one_by_one = asyncio.run(with_storage(database_url, scenario))
    assert every == EXPECTED
    assert reference == EXPECTED
    assert among == EXPECTED
    assert one_by_one == EXPECTED


def test_counts_equal_the_grouped_count_on_a_mixed_history(database_url: str) -> None:
    """A larger history where conversations interleave, share timestamps and are read at
    every kind of point (none, before the first, in the middle, on a shared timestamp,
    after the last): the counts are those of the grouped count over the whole history."""
    peers = [f"peer{index}@example.org" for index in range(12)] + [f"room{index}@conference.example.org"
                                                                    for index in range(4)]
    rows = []
    for index in range(1200):
        peer = peers[index % len(peers)]
        timestamp = float(index // 3)   # three messages in a row share a timestamp
        if peer.startswith("room"):
            rows.append(message(f"m{index}", timestamp, peer, nick=f"nick{index % 5}", kind="groupchat",
                                retracted=1.0 if index % 97 == 0 else None))
        elif index % 4 == 0:
            rows.append(message(f"m{index}", timestamp, OWN, dest=peer))
        else:
            rows.append(message(f"m{index}", timestamp, peer, kind="normal" if index % 7 == 0 else "chat"))
    points = {peer: float(position * 37 % 420) - 1 for position, peer in enumerate(peers) if position % 5 != 4}

    async def scenario(storage: Storage, reads: ReadStateStorage) -> tuple[dict[str, int], dict[str, int]]:
        await store(storage, reads, rows, points)
        return await reads.unread_counts("alice", OWN), await grouped_count(storage)

    every, reference = asyncio.run(with_storage(database_url, scenario))
    assert every == reference
    assert len(every) > 5 and len(every) < len(peers)   # some read to the end, some not


def test_counts_of_many_conversations_asked_at_once(database_url: str) -> None:
    """More conversations than one statement takes (SQLite refuses a ``UNION ALL`` of more
    than 500 parts): ``UnreadChanged`` after a catch-up of many conversations."""
    peers = [f"peer{index:04}@example.org" for index in range(1100)]
    rows = [message(f"m{index}", float(index), peer) for index, peer in enumerate(peers)]

    async def scenario(storage: Storage, reads: ReadStateStorage) -> dict[str, int]:
        await store(storage, reads, rows, {peer: 0.0 for peer in peers[::2]})
        return await reads.unread_counts("alice", OWN, among=[*peers, "nobody@example.org"])

    counts = asyncio.run(with_storage(database_url, scenario))
    assert counts == {peer: 1 for peer in peers[1:]}   # peer0000's message is at its read point


def test_the_count_of_every_conversation_reads_only_after_the_read_points(database_url: str) -> None:
    """2,000 read messages in 20 conversations and 3 unread in each: the history the count
    reads is those 3 per conversation and one index seek per conversation, not the 2,000
    (on SQLite its query plan, on PostgreSQL the rows the executed plan read)."""
    peers = [f"peer{index}@example.org" for index in range(20)]
    read = [message(f"m{index}", float(index), peers[index % 20]) for index in range(2000)]
    unread = [message(f"u{index}", 3000.0 + index, peers[index % 20]) for index in range(60)]

    async def scenario(storage: Storage, reads: ReadStateStorage) -> tuple[dict[str, int], list[str]]:
        await store(storage, reads, read + unread, dict.fromkeys(peers, 2000.0))
        statements = await executed(storage, lambda: reads.unread_counts("alice", OWN))
        counts = await reads.unread_counts("alice", OWN)
        assert storage.engine is not None
        async with storage.engine.connect() as connection:
            if storage.is_sqlite:
                return counts, await history_access_sqlite(connection, *statements[-1])
            await connection.execute(text("ANALYZE"))
            return counts, [str(await history_rows_read_postgresql(connection, *statements[-1]))]

    counts, reading = asyncio.run(with_storage(database_url, scenario))
    assert counts == dict.fromkeys(peers, 3)
    if database_url.startswith("sqlite"):
        # the count: a range from the read point; the loose scan: seeks (LIMIT 1) on the same index
        assert reading == ["ix_history_profile_id_source_timestamp (profile_id=?)",
                           "ix_history_profile_id_source_timestamp (profile_id=? AND source>?)",
                           "ix_history_profile_id_source_timestamp (profile_id=? AND source=? AND timestamp>?)"]
    else:
        assert int(reading[0]) <= 60 + 2 * 21   # 60 unread, the loose scan's seeks (each one row)
