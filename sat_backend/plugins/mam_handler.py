"""The XEP-0313 handler of one profile's stream: asks for archive pages and collects
their results (issue 14: its base class, tx-xmpp's ``XMPPHandler``, imports Twisted's
XML stream and with it the TLS stack, so the plugin imports this module at the first
connection)."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.message_stanza import MalformedStanza, parse_forwarded
from sat_backend.core.sessions import new_iq
from sat_backend.plugins.plugin_xep_0313 import NS_FORWARD, NS_MAM, NS_RSM, PAGE_SIZE, ArchiveGone, ArchivePage

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0313 import MessageArchive

log = logging.getLogger("sat_backend.plugins.plugin_xep_0313")


class MamHandler(XMPPHandler):  # type: ignore[misc]
    def __init__(self, plugin: MessageArchive, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client
        self._pages: dict[str, ArchivePage] = {}

    def connectionInitialized(self) -> None:
        self.xmlstream.addObserver(f"/message/result[@xmlns='{NS_MAM}']", self.on_result)

    def on_result(self, element: domish.Element) -> None:
        own_bare = self.client.jid.userhost()
        result = next(element.elements(NS_MAM, "result"))
        page = self._pages.get(result.getAttribute("queryid", ""))
        if element.getAttribute("from", own_bare) != (page.archive if page is not None else own_bare):
            log.warning("%s: dropped an archive result from %s", self.client.profile, element.getAttribute("from"))
            return
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

    async def query(self, *, after: str | None = None, latest: bool = False, archive: str | None = None) -> ArchivePage:
        """One page of our archive (or of ``archive``, a room's bare JID): after ``after``,
        or the most recent one.

        :raises ArchiveGone: the server does not know ``after`` any more.
        """
        query_id = uuid.uuid4().hex
        iq = new_iq(self.client, "set")
        if archive is not None:
            iq["to"] = archive
        query = iq.addElement((NS_MAM, "query"))
        query["queryid"] = query_id
        rsm = query.addElement((NS_RSM, "set"))
        rsm.addElement("max", content=str(PAGE_SIZE))
        if after is not None:
            rsm.addElement("after", content=after)
        elif latest:
            rsm.addElement("before")
        page = self._pages[query_id] = ArchivePage(archive or self.client.jid.userhost())
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
