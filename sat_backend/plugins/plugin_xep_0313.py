"""XEP-0313 Message Archive Management (v1.1, ``urn:xmpp:mam:2``): catch-up on connect.

Each time a profile connects, the messages archived by its server since the last one we
have are fetched page by page (XEP-0059 RSM ``after``) and go through the normal path
(history, ``MessageNew``); duplicates of what arrived live or by carbons are recognised
by their stanza-id or origin-id. The newest archive id is remembered per profile, so a
catch-up only asks for what is new. On the very first connection only the most recent
page is imported. When the server no longer knows our last id (archive expired or
reset), the hole cannot be filled: it is recorded as a *gap* (``MamGapsGet``) and the
catch-up restarts from the most recent page.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.xmlstream import IQ
from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import ChatMessage, MalformedStanza, parse_forwarded

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_FORWARD = "urn:xmpp:forward:0"
PRIVATE_NAMESPACE = "XEP-0313"
PAGE_SIZE = 100
#: pages per catch-up; the rest is fetched at the next connection (the id is kept)
MAX_PAGES = 50

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
    messages: list[ChatMessage] = field(default_factory=list)
    complete: bool = True
    last_id: str | None = None


class ArchiveGone(Exception):
    """The archive does not know the id we asked to continue from."""


class MamHandler(XMPPHandler):  # type: ignore[misc]
    def __init__(self, plugin: MessageArchive, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client
        self._pages: dict[str, ArchivePage] = {}

    def connectionInitialized(self) -> None:
        self.xmlstream.addObserver(f"/message/result[@xmlns='{NS_MAM}']", self.on_result)
        run_in_background(self.plugin.catch_up(self), f"{self.client.profile}: archive catch-up")

    def on_result(self, element: domish.Element) -> None:
        own_bare = self.client.jid.userhost()
        if element.getAttribute("from", own_bare) != own_bare:
            log.warning("%s: dropped an archive result from %s", self.client.profile, element.getAttribute("from"))
            return
        result = next(element.elements(NS_MAM, "result"))
        page = self._pages.get(result.getAttribute("queryid", ""))
        forwarded = next(result.elements(NS_FORWARD, "forwarded"), None)
        if page is None or forwarded is None or not result.getAttribute("id"):
            return
        try:
            message = parse_forwarded(forwarded, self.client.jid, stanza_id=str(result["id"]),
                                      change_parsers=self.plugin.host.messaging.changes.parsers)
        except MalformedStanza as exc:
            log.warning("%s: skipped a malformed archived message: %s", self.client.profile, exc)
            return
        if message is not None:
            page.messages.append(message)

    async def query(self, *, after: str | None = None, latest: bool = False) -> ArchivePage:
        """One page of our archive: after ``after``, or the most recent one.

        :raises ArchiveGone: the server does not know ``after`` any more.
        """
        query_id = uuid.uuid4().hex
        iq = IQ(self.xmlstream, "set")
        query = iq.addElement((NS_MAM, "query"))
        query["queryid"] = query_id
        rsm = query.addElement((NS_RSM, "set"))
        rsm.addElement("max", content=str(PAGE_SIZE))
        if after is not None:
            rsm.addElement("after", content=after)
        elif latest:
            rsm.addElement("before")
        page = self._pages[query_id] = ArchivePage()
        try:
            answer = await self.plugin.host.sessions.answer(iq.send())
        except error.StanzaError as exc:
            if after is not None and exc.condition == "item-not-found":
                raise ArchiveGone(str(exc)) from None
            raise
        finally:
            del self._pages[query_id]
        fin = next(answer.elements(NS_MAM, "fin"), None)
        if fin is not None:
            page.complete = fin.getAttribute("complete") in ("true", "1")
            rsm_set = next(fin.elements(NS_RSM, "set"), None)
            last = next(rsm_set.elements(NS_RSM, "last"), None) if rsm_set is not None else None
            page.last_id = str(last) if last is not None else None
        return page


class MessageArchive:
    def __init__(self, host: Backend) -> None:
        self.host = host

    async def initialise(self) -> None:
        self.host.sessions.add_handler_factory(lambda client: MamHandler(self, client))
        self.host.bridge.register_method("MamGapsGet", self.gaps_get)

    async def _state(self, profile: str) -> dict[str, Any]:
        state = await self.host.storage.get_private(PRIVATE_NAMESPACE, "state", profile)
        return state if isinstance(state, dict) else {"last_id": None, "gaps": []}

    async def _save(self, profile: str, state: dict[str, Any]) -> None:
        await self.host.storage.set_private(PRIVATE_NAMESPACE, "state", state, profile)

    async def catch_up(self, handler: MamHandler) -> None:
        """Fetch and store everything newer than our last archive id (bounded)."""
        profile = handler.client.profile
        state = await self._state(profile)
        stored = 0
        for _ in range(MAX_PAGES):
            last_id = state.get("last_id")
            try:
                page = await handler.query(after=last_id, latest=last_id is None)
            except ArchiveGone as exc:
                log.warning("%s: the archive lost our position %s; recording a gap", profile, last_id)
                state.setdefault("gaps", []).append(
                    {"after_id": last_id, "detected": time.time(), "reason": str(exc)}
                )
                state["last_id"] = None
                await self._save(profile, state)
                continue
            for message in page.messages:
                await self.host.messaging.on_received(handler.client, message)
            stored += len(page.messages)
            if page.last_id:
                state["last_id"] = page.last_id
                await self._save(profile, state)
            if page.complete or last_id is None or not page.messages:
                break
        log.info("%s: archive catch-up done (%d message(s) examined)", profile, stored)

    async def gaps_get(self, profile: str) -> str:
        state = await self._state(await self.host.profiles.resolve(profile))
        return json.dumps(state.get("gaps", []))
