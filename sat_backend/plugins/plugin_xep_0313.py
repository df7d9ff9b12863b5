"""XEP-0313 Message Archive Management (v1.1, ``urn:xmpp:mam:2``): catch-up on connect.

Each time a profile connects, the messages archived by its server since the last one we
have are fetched page by page (XEP-0059 RSM ``after``) until the end of the archive, and
go through the normal path (history, ``MessageNew``); duplicates of what arrived live or
by carbons are recognised by their stanza-id or origin-id. The position in the archive
(:class:`~sat_backend.plugins.mam_position.ArchivePosition`) follows catch-ups and live
messages once stored, so a catch-up only asks for what was missed. A message that could
not be stored (full disk) holds the position and a catch-up is retried with a backoff
until one goes through without failure: nothing received is lost. On the very first
connection only the most recent page is imported. When the server no longer knows our
last id (archive expired or reset), the hole cannot be filled: it is recorded as a *gap*
(``MamGapsGet``) and the catch-up restarts from the most recent page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sat_backend.core.exceptions import Database, ProfileNotConnected
from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import ChatMessage
from sat_backend.core.im.messaging import RECEIVED_NOT_STORED_TRIGGER, RECEIVED_STORED_TRIGGER
from sat_backend.core.lazy_import import lazy_module
from sat_backend.plugins.mam_position import ArchivePosition

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.plugins.mam_handler import MamHandler
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.memory import history_order
else:  # builds Core statements at import (SQLAlchemy): imported by the first catch-up
    history_order = lazy_module("sat_backend.memory.history_order")

log = logging.getLogger(__name__)

NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_FORWARD = "urn:xmpp:forward:0"
PAGE_SIZE = 100
#: messages per catch-up: far more than a day offline brings, low enough that a hostile
#: archive cannot keep us paging forever; the rest comes at the next catch-up (logged)
MAX_CATCH_UP_MESSAGES = 200_000
#: delays between catch-up retries after a message could not be stored (seconds)
RETRY_DELAYS = (2.0, 4.0, 8.0, 15.0)

PLUGIN_INFO = {
    "name": "Message Archive Management",
    "import_name": "XEP-0313",
    "type": "XEP",
    "protocols": ["XEP-0313", "XEP-0059"],
    "recommendations": ["XEP-0280"],
    "main": "MessageArchive",
    "handler": True,
    "description": "Fetch the messages received while offline from the server's archive",
}

@dataclass
class ArchivePage:
    #: whose archive: results from anyone else are dropped (forged)
    archive: str = ""
    messages: list[ChatMessage] = field(default_factory=list)
    complete: bool = True
    last_id: str | None = None


class ArchiveGone(Exception):
    """The archive does not know the id we asked to continue from."""


class MessageArchive:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self._positions: dict[str, ArchivePosition] = {}
        self._handlers: dict[str, MamHandler] = {}
        self._retries: dict[str, asyncio.Task[None]] = {}
        #: profiles whose session's first catch-up is on its way (see _first_catch_up)
        self._starting: set[str] = set()
        #: archive pages and messages fetched by catch-ups since the start (for tests and logs)
        self.pages_fetched = 0
        self.messages_fetched = 0

    async def initialise(self) -> None:
        self.host.sessions.add_handler_factory(self._make_handler)
        # after the core's roster-then-presence starter: see _start_catch_up
        self.host.sessions.add_session_starter(self._start_catch_up)
        self.host.bridge.register_method("MamGapsGet", self.gaps_get)
        self.host.triggers.add(RECEIVED_STORED_TRIGGER, self._on_live_stored)
        self.host.triggers.add(RECEIVED_NOT_STORED_TRIGGER, self._on_not_stored)

    async def stop(self) -> None:
        """Save the positions that live messages moved since their last save."""
        for task in list(self._retries.values()):
            task.cancel()
        for position in self._positions.values():
            await position.save()

    def _make_handler(self, client: XmppClient) -> MamHandler:
        from sat_backend.plugins.mam_handler import MamHandler  # issue 14: at the first connection

        handler = self._handlers[client.profile] = MamHandler(self, client)
        return handler

    async def _start_catch_up(self, client: XmppClient) -> None:
        """Session starter: catch up in the background once our initial presence is sent.

        Not before it: a message that reaches the server between an archive query and our
        presence finds no available resource, so it is kept offline, and Prosody does not
        deliver offline messages to a session that already queried its archive; the
        catch-up being over, it was missed until the next login. Once the presence is
        sent, a message is either archived before the query (fetched) or delivered live.
        """
        handler = self._handlers.get(client.profile)
        if handler is not None:
            self._starting.add(client.profile)
            run_in_background(self._first_catch_up(handler), f"{client.profile}: archive catch-up", client.profile)

    async def _first_catch_up(self, handler: MamHandler) -> None:
        """The session's catch-up; until it holds the position (``catching_up``), a live
        message stored meanwhile must not move it either: it would skip what the archive
        has before it, and hide a lost position (a gap)."""
        try:
            await self.catch_up(handler)
        finally:
            self._starting.discard(handler.client.profile)

    async def position(self, profile: str) -> ArchivePosition:
        position = self._positions.get(profile)
        if position is None:
            position = self._positions[profile] = ArchivePosition(self.host.storage, profile)
        await position.load()
        return position

    async def _position_of_this_profile(self, profile: str) -> ArchivePosition:
        """The position, forgotten if the profile was deleted and made again since (same
        name, new row: the old position would skip or misplace its archive)."""
        row = await self.host.storage.get_profile(profile)
        position = await self.position(profile)
        # SQLite reuses a deleted row's id: its creation time tells the new profile apart
        row_id = (row.id, row.created) if row is not None else None
        if position.profile_row_id not in (None, row_id):
            del self._positions[profile]
            position = await self.position(profile)
        position.profile_row_id = row_id
        return position

    async def _on_live_stored(self, client: XmppClient, message: ChatMessage) -> None:
        # a room's stanza-id is a place in the room's archive, not in ours
        if message.stanza_id and message.type != "groupchat" and client.profile not in self._starting:
            (await self.position(client.profile)).follow_live(message.stanza_id)

    async def _on_not_stored(self, client: XmppClient, message: ChatMessage) -> None:
        if message.type == "groupchat":
            return  # not in our archive: a catch-up of it would not bring it back
        (await self.position(client.profile)).not_stored()
        self._schedule_retry(client.profile)

    def _schedule_retry(self, profile: str) -> None:
        """Catch up again, later and again, until a catch-up stores everything it reads."""
        if profile not in self._retries:
            self._retries[profile] = asyncio.ensure_future(self._retry(profile))

    async def _retry(self, profile: str) -> None:
        try:
            for attempt in range(10_000):
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
                handler = self._handlers.get(profile)
                if handler is None or handler.xmlstream is None:
                    return  # the next connection catches up
                position = await self.position(profile)
                if position.catching_up:
                    continue
                log.info("%s: catching up again with the archive after a storage failure", profile)
                if await self.catch_up(handler):
                    return
        except ProfileNotConnected:
            log.info("%s: archive catch-up retry stopped: the session closed (the next connection catches up)", profile)
        except Exception:  # noqa: BLE001 - a retry loop must end with a line, not silently
            log.exception("%s: archive catch-up retry failed", profile)
        finally:
            self._retries.pop(profile, None)

    async def catch_up(self, handler: MamHandler) -> bool:
        """Fetch and store everything newer than our position, to the end of the archive
        (bounded by :data:`MAX_CATCH_UP_MESSAGES`).

        :returns: True when every message read was stored and none failed meanwhile (the
            position is then free to follow live messages again).
        """
        profile = handler.client.profile
        position = await self._position_of_this_profile(profile)
        if position.catching_up:
            return False
        position.catching_up = True
        failures_before = position.failures
        try:
            complete = await self._read_archive(handler, position)
        finally:
            position.catching_up = False
            await position.save()
        if complete and position.failures == failures_before:
            position.held = False
            return True
        position.held = True
        self._schedule_retry(profile)
        return False

    async def _read_archive(self, handler: MamHandler, position: ArchivePosition) -> bool:
        """:returns: False when a message could not be stored (the position stays before it)."""
        profile = handler.client.profile
        pages = fetched = new = 0
        order = history_order.CatchUpOrder(self.host.storage, profile)  # ties of a second: the archive's order
        while fetched < MAX_CATCH_UP_MESSAGES:
            last_id = position.last_id
            # without a position, a first connection imports only the most recent page; after
            # a failure to store, the whole archive is read (it was empty or nearly at first)
            latest = last_id is None and not position.held
            try:
                page = await handler.query(after=last_id, latest=latest)
            except ArchiveGone as exc:
                log.warning("%s: the archive lost our position %s; recording a gap", profile, last_id)
                position.add_gap({"after_id": last_id, "detected": time.time(), "reason": str(exc)})
                await position.save()
                continue
            pages += 1
            fetched += len(page.messages)
            self.pages_fetched += 1
            self.messages_fetched += len(page.messages)
            stored: list[bool] = []
            try:
                await self.host.messaging.on_received_all(handler.client, page.messages, stored)
                refused = False
            except Database:
                refused = True
            for message, is_new in zip(page.messages, stored):
                new += is_new
                if message.stanza_id:
                    position.move_to(message.stanza_id)
                    if message.change is None:
                        order.add(history_order.ArchivedMessage(message.stanza_id, message.from_jid.userhost(),
                                                  message.timestamp, is_new))
            if refused:
                log.warning("%s: archive catch-up stopped: a message could not be stored (%d page(s), "
                            "%d message(s) fetched); retrying later", profile, pages, fetched)
                return False
            await order.page_done()
            if page.last_id:
                position.move_to(page.last_id)
                await position.save()
            if page.complete or latest or not page.last_id or page.last_id == last_id:
                break
        else:
            log.warning("%s: archive catch-up stopped after %d messages; the rest comes at the next catch-up",
                        profile, fetched)
        if order.reordered:
            log.info("%s: %d message(s) of the catch-up put in archive order among those of their second",
                     profile, order.reordered)
        log.info("%s: archive catch-up done: %d page(s), %d message(s) fetched, %d new", profile, pages, fetched, new)
        return True

    async def query_archive(self, client: XmppClient, archive: str, *, after: str | None = None,
                            latest: bool = False) -> ArchivePage:
        """One page of another entity's archive (a room's, XEP-0045 catch-up).

        :raises ArchiveGone: ``archive`` does not know ``after`` any more.
        :raises ProfileNotConnected: no session.
        """
        handler = self._handlers.get(client.profile)
        if handler is None or handler.xmlstream is None:
            raise ProfileNotConnected(f"profile {client.profile!r} is not connected")
        return await handler.query(after=after, latest=latest, archive=archive)

    async def gaps_get(self, profile: str) -> str:
        position = await self.position(await self.host.profiles.resolve(profile))
        return json.dumps(position.state.get("gaps", []))
