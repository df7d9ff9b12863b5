"""Pure logic of message durability: recognising a full disk, the arrival-ordered inbox,
and when the archive position may move (issue 12, defects 5 and 6)."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
from typing import Any

from sqlalchemy.exc import OperationalError

from sat_backend.core.exceptions import Database
from sat_backend.core.im.inbox import Inbox
from sat_backend.memory.disk_full import DiskFullWatch, is_disk_full
from sat_backend.plugins.mam_position import ArchivePosition


def sqlite_error(text: str, code: int) -> OperationalError:
    original = sqlite3.OperationalError(text)
    original.sqlite_errorcode = code  # type: ignore[attr-defined]
    return OperationalError("INSERT …", {}, original)


def test_full_disk_is_recognised_from_each_driver() -> None:
    assert is_disk_full(sqlite_error("database or disk is full", 13))
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_disk_full(sqlite_error("database is locked", 5))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))


def test_full_disk_is_said_once_per_episode() -> None:
    watch = DiskFullWatch("sat.db")
    told: list[tuple[bool, str]] = []
    watch.listen(lambda full, detail: told.append((full, detail)))
    watch.write_succeeded()
    watch.write_failed("OperationalError: database or disk is full")
    watch.write_failed("OperationalError: database or disk is full")
    watch.write_succeeded()
    watch.write_succeeded()
    assert told == [(True, "OperationalError: database or disk is full"), (False, "")]


def test_inbox_handles_in_arrival_order_and_refuses_past_its_bound() -> None:
    handled: list[int] = []
    refused: list[int] = []

    async def handle(batch: list[int]) -> None:
        for item in batch:
            await asyncio.sleep(0.001 * (item % 3))  # later items may finish their wait first
            handled.append(item)

    async def refuse(item: int) -> None:
        refused.append(item)

    async def run() -> None:
        inbox: Inbox[int] = Inbox(handle, refuse, "alice", max_pending=5)
        for item in range(8):
            inbox.put(item)
        for _ in range(100):
            if not len(inbox) and len(handled) == 5:
                break
            await asyncio.sleep(0.01)

    asyncio.run(run())
    # nothing is taken before the drain task runs: five wait, the rest is refused
    assert handled == [0, 1, 2, 3, 4]
    assert refused == [5, 6, 7]


def test_inbox_hands_the_items_waiting_together_at_most_max_batch_at_a_time() -> None:
    """What waits when the handler's turn comes goes in one call (one transaction for a
    burst of messages), bounded; what comes during a call waits for the next one."""
    batches: list[list[int]] = []

    async def run() -> None:
        finished = asyncio.Event()
        inboxes: list[Inbox[int]] = []

        async def handle(batch: list[int]) -> None:
            batches.append(batch)
            if batch[0] == 0:
                inboxes[0].put(5)  # arrives while a batch is handled
            if 5 in batch:
                finished.set()

        async def refuse(item: int) -> None:
            raise AssertionError(f"{item} refused")

        inboxes.append(Inbox(handle, refuse, "alice", max_batch=3))
        for item in range(5):
            inboxes[0].put(item)
        await asyncio.wait_for(finished.wait(), 5)

    asyncio.run(run())
    assert batches == [[0, 1, 2], [3, 4, 5]]


class FakeStorage:
    def __init__(self, fail: bool = False) -> None:
        self.saved: list[Any] = []
        self.fail = fail

    async def get_private(self, namespace: str, key: str, profile: str) -> Any:
        return {"last_id": "a1", "gaps": []}

    async def set_private(self, namespace: str, key: str, value: Any, profile: str) -> None:
        if self.fail:
            raise Database("the disk holding the database is full")
        self.saved.append(value)


def test_position_follows_live_messages_until_one_is_not_stored() -> None:
    async def run() -> tuple[ArchivePosition, FakeStorage]:
        storage = FakeStorage()
        position = ArchivePosition(storage, "alice")  # type: ignore[arg-type]
        await position.load()
        position.follow_live("a2")
        position.catching_up = True
        position.follow_live("a3")         # a catch-up reads to the end itself
        position.catching_up = False
        position.not_stored()
        position.follow_live("a4")         # a message before it is missing: stay before
        assert await position.save()
        return position, storage

    position, storage = asyncio.run(run())
    assert position.last_id == "a2" and position.held and position.failures == 1
    assert storage.saved[-1]["last_id"] == "a2"


def test_position_save_failure_is_not_an_error() -> None:
    position = ArchivePosition(FakeStorage(fail=True), "alice")  # type: ignore[arg-type]
    assert asyncio.run(position.save()) is False
