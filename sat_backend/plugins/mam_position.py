"""Where our copy of a profile's message archive (XEP-0313) ends: the archive id after
which the next catch-up starts, and the gaps the archive could not fill.

The position follows live messages once they are stored (their XEP-0359 stanza-id given
by our own archive), so a reconnection only fetches what was missed. It never moves past
a message we failed to store: after a failure it is *held* until a catch-up goes through
the archive without one, and that catch-up fetches the lost messages again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sat_backend.core.exceptions import Database, ProfileUnknown
from sat_backend.core.im.background import run_in_background

if TYPE_CHECKING:
    from sat_backend.memory.sqla import Storage

log = logging.getLogger(__name__)

PRIVATE_NAMESPACE = "XEP-0313"
#: a live message moves the position in memory at once, in the database at most this often
#: (seconds): after a crash the next catch-up re-reads at most that much, recognised as stored
SAVE_DELAY = 1.0


class ArchivePosition:
    """The catch-up state of one profile (loaded once, kept across reconnections)."""

    def __init__(self, storage: Storage, profile: str) -> None:
        self.storage = storage
        self.profile = profile
        self.state: dict[str, Any] = {"last_id": None, "gaps": []}
        #: messages we failed to store since the start; a catch-up that began with this
        #: count and ended with it saw every one of them again
        self.failures = 0
        self.held = False
        self.catching_up = False
        #: the profile's database row (id, creation time) when the position was checked
        self.profile_row_id: tuple[int, float] | None = None
        self._loaded = False
        self._save_scheduled = False
        self._lock = asyncio.Lock()

    @property
    def last_id(self) -> str | None:
        value = self.state.get("last_id")
        return value if isinstance(value, str) else None

    async def load(self) -> None:
        if self._loaded:
            return
        state = await self.storage.get_private(PRIVATE_NAMESPACE, "state", self.profile)
        if isinstance(state, dict):
            self.state = state
        self._loaded = True

    def move_to(self, archive_id: str) -> None:
        """A message with this archive id, and every one before it, is stored."""
        self.state["last_id"] = archive_id

    def follow_live(self, archive_id: str) -> None:
        """A live message is stored: the position follows it unless a catch-up runs (it
        reads to the archive's end itself) or a message before it was not stored."""
        if self.held or self.catching_up:
            return
        self.move_to(archive_id)
        self.save_soon()

    def not_stored(self) -> None:
        """A received message was not stored: hold the position before it."""
        self.failures += 1
        self.held = True

    def add_gap(self, gap: dict[str, Any]) -> None:
        self.state.setdefault("gaps", []).append(gap)
        self.state["last_id"] = None

    def save_soon(self) -> None:
        if not self._save_scheduled:
            self._save_scheduled = True
            run_in_background(self._save_later(), f"{self.profile}: saving the archive position")

    async def _save_later(self) -> None:
        await asyncio.sleep(SAVE_DELAY)
        self._save_scheduled = False
        await self.save()

    async def save(self) -> bool:
        """Write the state; a storage failure is logged (the position in the database
        stays behind, which only makes the next catch-up re-read more)."""
        async with self._lock:
            try:
                await self.storage.set_private(PRIVATE_NAMESPACE, "state", dict(self.state), self.profile)
            except (Database, ProfileUnknown) as exc:
                log.warning("%s: could not save the archive position: %s", self.profile, exc)
                return False
        return True
