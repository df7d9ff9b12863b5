"""The rooms a profile is in, persisted so that a reconnection or a restart enters them
again: nick, the password encrypted with the backend's secret key (bound to the
profile and the room), and where an unfinished catch-up of the room's archive stopped,
in the profile's private values (``XEP-0045``/``rooms``)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sat_backend.core.exceptions import Database

if TYPE_CHECKING:
    from sat_backend.core.secrets import SecretBox
    from sat_backend.memory.sqla import Storage

log = logging.getLogger(__name__)

PRIVATE_NAMESPACE = "XEP-0045"
PRIVATE_KEY = "rooms"
#: the entry's key for the archive id an unfinished catch-up reached
CATCH_UP = "catch_up"


@dataclass(frozen=True)
class SavedRoom:
    room: str
    nick: str
    password: str | None = None


class SavedRooms:
    """Read-modify-write of one JSON value per profile, one writer at a time."""

    def __init__(self, storage: Storage, secrets: SecretBox) -> None:
        self.storage = storage
        self.secrets = secrets
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def load(self, profile: str) -> list[SavedRoom]:
        """The saved rooms; a password that cannot be decrypted (secret key changed) is
        dropped with a warning: the room is entered without it (and refuses, if it needs one)."""
        return [SavedRoom(room, str(entry.get("nick") or ""), self._password(profile, room, entry))
                for room, entry in (await self._read(profile)).items()]

    async def password(self, profile: str, room: str) -> str | None:
        """The saved password of ``room`` (None: none, or unusable as in :meth:`load`),
        the only one decrypted."""
        entry = (await self._read(profile)).get(room)
        return None if entry is None else self._password(profile, room, entry)

    def _password(self, profile: str, room: str, entry: dict[str, Any]) -> str | None:
        token = entry.get("password")
        if not isinstance(token, str):
            return None
        try:
            return self.secrets.decrypt(token, _secret_context(profile, room))
        except Database as exc:
            log.warning("%s: the saved password of %s is unusable: %s", profile, room, exc)
            return None

    async def contains(self, profile: str, room: str) -> bool:
        return room in await self._read(profile)

    async def save(self, profile: str, room: str, nick: str, password: str | None) -> None:
        """Save (or update) the room; its catch-up mark stays."""
        entry: dict[str, Any] = {"nick": nick}
        if password is not None:
            entry["password"] = self.secrets.encrypt(password, _secret_context(profile, room))
        async with self._locks[profile]:
            saved = await self._read(profile)
            if isinstance(saved.get(room, {}).get(CATCH_UP), str):
                entry[CATCH_UP] = saved[room][CATCH_UP]
            saved[room] = entry
            await self.storage.set_private(PRIVATE_NAMESPACE, PRIVATE_KEY, saved, profile)

    async def catch_up_mark(self, profile: str, room: str) -> str | None:
        """The archive id an unfinished catch-up of ``room`` reached (None: none unfinished)."""
        mark = (await self._read(profile)).get(room, {}).get(CATCH_UP)
        return mark if isinstance(mark, str) else None

    async def mark_catch_up(self, profile: str, room: str, after: str | None) -> None:
        """Record how far a catch-up of a saved room went (None: it reached the end)."""
        async with self._locks[profile]:
            saved = await self._read(profile)
            entry = saved.get(room)
            if entry is None or entry.get(CATCH_UP) == after:
                return
            if after is None:
                del entry[CATCH_UP]
            else:
                entry[CATCH_UP] = after
            await self.storage.set_private(PRIVATE_NAMESPACE, PRIVATE_KEY, saved, profile)

    async def forget(self, profile: str, room: str) -> None:
        async with self._locks[profile]:
            saved = await self._read(profile)
            if saved.pop(room, None) is not None:
                await self.storage.set_private(PRIVATE_NAMESPACE, PRIVATE_KEY, saved, profile)

    async def _read(self, profile: str) -> dict[str, dict[str, Any]]:
        saved = await self.storage.get_private(PRIVATE_NAMESPACE, PRIVATE_KEY, profile)
        if not isinstance(saved, dict):
            return {}
        return {room: entry for room, entry in saved.items() if isinstance(room, str) and isinstance(entry, dict)}


def _secret_context(profile: str, room: str) -> str:
    """Binds an encrypted room password to its profile and room."""
    return f"muc-password:{profile}:{room}"
