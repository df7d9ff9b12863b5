"""Received messages of one profile, stored one after the other in the order they arrived.

Why one at a time: the archive position (XEP-0313) may follow a live message only once
every message received before it is stored, which concurrent stores finishing out of
order would not guarantee; and a flooding peer must not start thousands of tasks each
holding a database connection. Why bounded: past :data:`MAX_PENDING` waiting messages a
new one is refused like a message that could not be stored (the archive catch-up fetches
it later), so memory stays bounded whatever a peer sends. Why handed over together: the
messages waiting when the handler's turn comes (a burst, or arrivals faster than their
stores) can then share one transaction, one commit instead of one per message (issue 14).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from sat_backend.core.exceptions import ProfileUnknown
from sat_backend.core.im.background import log_failure, run_in_background

log = logging.getLogger(__name__)

#: received messages waiting to be stored, per profile
MAX_PENDING = 20_000
#: waiting messages handed over at once: the statements of a batch run on the loop's
#: thread one after the other (≈ 50-60 µs a message on SQLite, ≈ 2 ms for 32), so this
#: bounds that run
MAX_BATCH = 32

Item = TypeVar("Item")


class Inbox(Generic[Item]):
    """A FIFO drained by one background task at a time, which hands the handler the items
    waiting, in arrival order, at most ``max_batch`` at a time.

    :param handle: stores a batch of items; its exceptions are logged and the next batch
        goes on (a handler that must not lose the rest of a batch to one bad item guards
        each item itself).
    :param refuse: called for an item refused because the inbox is full.
    :param what: names the inbox in log lines.
    :param profile: the profile it stores for: its deletion waits for the drain
        (:func:`~sat_backend.core.im.background.settle`) and ends it.
    """

    def __init__(
        self, handle: Callable[[list[Item]], Awaitable[None]], refuse: Callable[[Item], Coroutine[Any, Any, None]],
        what: str, max_pending: int = MAX_PENDING, profile: str | None = None, max_batch: int = MAX_BATCH,
    ) -> None:
        self._handle = handle
        self._refuse = refuse
        self._what = what
        self._profile = profile
        self._max_pending = max_pending
        self._max_batch = max_batch
        self._pending: deque[Item] = deque()
        self._draining = False
        self._overflowing = False

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, item: Item) -> None:
        if len(self._pending) >= self._max_pending:
            if not self._overflowing:  # said once per episode: a flood must not flood the log
                self._overflowing = True
                log.warning("%s: %d received messages wait to be stored; more are left to the archive catch-up",
                            self._what, len(self._pending))
            run_in_background(self._refuse(item), f"{self._what}: refusing a message", self._profile)
            return
        self._overflowing = False
        self._pending.append(item)
        if not self._draining:
            self._draining = True
            run_in_background(self._drain(), f"{self._what}: storing received messages", self._profile)

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(len(self._pending), self._max_batch))]
                try:
                    await self._handle(batch)
                except ProfileUnknown as exc:  # deleted meanwhile: what waits is dropped with it
                    self._pending.clear()
                    log_failure(f"{self._what}: storing received messages", exc)
                except Exception:  # noqa: BLE001 - one bad batch must not stop the others
                    log.exception("%s: failed to handle received messages", self._what)
        finally:
            self._draining = False
