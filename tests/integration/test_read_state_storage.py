"""The read point of a conversation on real databases (SQLite file, PostgreSQL): one
upsert that only ever moves it forward."""

from __future__ import annotations

import asyncio
from typing import Any

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
