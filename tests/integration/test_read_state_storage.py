"""The read point of a conversation on real databases (SQLite file, PostgreSQL): one
upsert that only ever moves it forward."""

from __future__ import annotations

import asyncio
from typing import Any

from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.read_state_storage import ReadStateStorage
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import ConversationRead


def test_the_read_point_only_moves_forward(database_url: str) -> None:
    async def scenario() -> list[Any]:
        storage = Storage(database_url)
        await storage.initialise()
        try:
            await storage.create_profile("alice")
            reads = ReadStateStorage(storage)
            moves = [
                await reads.mark_read("alice", "bob@example.org", 10.0, "m1"),   # first point
                await reads.mark_read("alice", "bob@example.org", 20.0, "m2"),   # forward
                await reads.mark_read("alice", "bob@example.org", 20.0, "m2"),   # same point
                await reads.mark_read("alice", "bob@example.org", 15.0, "m0"),   # back: refused
                await reads.mark_read("alice", "carol@example.org", 5.0, None),  # another peer
            ]
            async with storage.session() as session:
                stored = await session.get(ConversationRead, (await storage.profile_id(session, "alice"),
                                                               "bob@example.org"))
                assert stored is not None
                return [moves, stored.read_until, stored.last_read_uid]
        finally:
            await storage.close()

    assert asyncio.run(scenario()) == [[True, True, False, False, True], 20.0, "m2"]


def test_counts_of_some_conversations_agree_with_the_count_of_all(database_url: str) -> None:
    """The counts asked for a conversation or a few (counted from their read points on)
    are those of the grouped count of every conversation."""
    own = "alice@example.org"
    received = [  # (uid, timestamp, sender, type)
        ("b1", 1.0, "bob@example.org", "chat"), ("b2", 2.0, "bob@example.org", "chat"),
        ("b3", 3.0, "bob@example.org", "normal"), ("b4", 4.0, "bob@example.org", "groupchat"),
        ("c1", 1.5, "carol@example.org", "chat"), ("c2", 2.5, "carol@example.org", "chat"),
        ("d1", 0.5, "dave@example.org", "chat"),
    ]

    async def scenario() -> list[dict[str, int]]:
        storage = Storage(database_url)
        await storage.initialise()
        try:
            await storage.create_profile("alice")
            for uid, timestamp, sender, kind in received:
                await storage.add_to_history("alice", HistoryEntry(
                    id=uid, timestamp=timestamp, source=sender, dest=own, type=kind, bodies={"": uid}, subjects={}))
            await storage.add_to_history("alice", HistoryEntry(  # an occupant's message in a room
                id="r1", timestamp=3.5, source="room@conference.example.org", source_res="carol",
                dest=own, type="groupchat", bodies={"": "r1"}, subjects={}))
            await storage.add_to_history("alice", HistoryEntry(  # ours never counts
                id="a1", timestamp=5.0, source=own, dest="bob@example.org", type="chat", bodies={"": "a1"},
                subjects={}))
            reads = ReadStateStorage(storage)
            await reads.mark_read("alice", "bob@example.org", 1.0, "b1")
            await reads.mark_read("alice", "carol@example.org", 2.5, "c2")
            peers = ["bob@example.org", "carol@example.org", "dave@example.org", "eve@example.org",
                     "room@conference.example.org", own]
            return [
                await reads.unread_counts("alice", own),
                await reads.unread_counts("alice", own, among=peers),
                {peer: count for peer in peers for count in (await reads.unread_counts("alice", own, peer)).values()},
                await reads.unread_counts("alice", own, "bob@example.org", among=["carol@example.org"]),
            ]
        finally:
            await storage.close()

    every, among, one_by_one, outside = asyncio.run(scenario())
    assert every == {"bob@example.org": 2, "dave@example.org": 1, "room@conference.example.org": 1}
    assert among == every
    assert one_by_one == every
    assert outside == {}
