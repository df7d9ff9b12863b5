"""The catch-up of a room's archive is gap-aware: an interrupted one is resumed from
where it stopped, not from our newest (live) message. Fake archive and storage."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import ProfileNotConnected, Timeout
from sat_backend.core.im.message_stanza import ChatMessage
from sat_backend.plugins.muc.room_history import catch_up
from sat_backend.plugins.muc.rooms import JOINED, Room
from sat_backend.plugins.muc.saved_rooms import SavedRooms
from sat_backend.plugins.plugin_xep_0313 import ArchivePage

ROOM = "room@chat.localhost"
PAGE = 3


class FakeStorage:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str, str | None], Any] = {}

    async def get_private(self, namespace: str, key: str, profile: str | None = None) -> Any:
        return self.values.get((namespace, key, profile))

    async def set_private(self, namespace: str, key: str, value: Any, profile: str | None = None) -> None:
        self.values[(namespace, key, profile)] = value


class FakeArchive:
    """A room archive of ids ``m0``…; pages of ``PAGE``; fails the queries listed in ``failures``."""

    def __init__(self, size: int) -> None:
        self.ids = [f"m{number}" for number in range(size)]
        self.failures: dict[int, Exception] = {}
        self.queries: list[str | None] = []

    async def query_archive(self, client: Any, archive: str, *, after: str | None = None,
                            latest: bool = False) -> ArchivePage:
        self.queries.append(after)
        failure = self.failures.pop(len(self.queries), None)
        if failure is not None:
            raise failure
        start = self.ids.index(after) + 1 if after is not None else max(len(self.ids) - PAGE, 0)
        chosen = self.ids[start:start + PAGE]
        messages = [ChatMessage(uid=stanza_id, timestamp=0.0, from_jid=JID(f"{ROOM}/carol"), to_jid=JID("alice@localhost"),
                                bodies={"": stanza_id}, subjects={}, type="groupchat", stanza_id=stanza_id)
                    for stanza_id in chosen]
        return ArchivePage(archive, messages, start + PAGE >= len(self.ids), chosen[-1] if chosen else None)


@pytest.fixture
def parts() -> tuple[Any, SavedRooms, FakeArchive, list[str]]:
    stored: list[str] = []

    async def on_received_all(client: Any, messages: list[ChatMessage], new: list[bool]) -> None:
        for message in messages:
            new.append(message.stanza_id not in stored)
            if new[-1]:
                stored.append(message.stanza_id or "")

    archive = FakeArchive(10)
    host = SimpleNamespace(plugins={"XEP-0313": archive}, messaging=SimpleNamespace(on_received_all=on_received_all))
    saved = SavedRooms(FakeStorage(), None)  # type: ignore[arg-type]  # no password here
    return host, saved, archive, stored


def test_an_interrupted_catch_up_resumes_where_it_stopped(parts: tuple[Any, SavedRooms, FakeArchive, list[str]]) -> None:
    host, saved, archive, stored = parts
    client = SimpleNamespace(profile="alice", jid=JID("alice@localhost/desk"))
    room = Room(JID(ROOM), "alice", state=JOINED, stanza_ids=True)

    async def scenario() -> None:
        await saved.save("alice", ROOM, "alice", None)
        archive.failures[2] = ProfileNotConnected("lost")            # the second page never comes
        with pytest.raises(ProfileNotConnected):
            await catch_up(host, client, room, "m0", saved)           # type: ignore[arg-type]
        assert stored == ["m1", "m2", "m3"]
        assert await saved.catch_up_mark("alice", ROOM) == "m3"
        await saved.save("alice", ROOM, "alice", None)                # entering again keeps the mark
        assert await saved.catch_up_mark("alice", ROOM) == "m3"

        archive.failures[4] = Timeout("no answer")                    # the next entry: one page, then silence
        assert await catch_up(host, client, room, "m3", saved) == 3  # type: ignore[arg-type]
        assert await saved.catch_up_mark("alice", ROOM) == "m6"
        assert await catch_up(host, client, room, "m6", saved) == 3  # type: ignore[arg-type]
        assert stored == [f"m{number}" for number in range(1, 10)]
        assert await saved.catch_up_mark("alice", ROOM) is None       # the end was reached
        assert archive.queries == ["m0", "m3", "m3", "m6", "m6"]
    asyncio.run(scenario())


def test_the_mark_is_only_for_saved_rooms(parts: tuple[Any, SavedRooms, FakeArchive, list[str]]) -> None:
    host, saved, archive, stored = parts
    client = SimpleNamespace(profile="alice", jid=JID("alice@localhost/desk"))
    room = Room(JID(ROOM), "alice", state=JOINED, stanza_ids=True)

    async def scenario() -> None:
        archive.failures[1] = Timeout("no answer")
        await catch_up(host, client, room, "m0", saved)               # type: ignore[arg-type]
        assert await saved.catch_up_mark("alice", ROOM) is None and await saved.load("alice") == []
    asyncio.run(scenario())
