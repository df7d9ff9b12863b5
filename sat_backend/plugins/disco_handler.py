"""The XEP-0030 handler of one profile's stream: answers ``disco#info``/``disco#items``
and asks others (issue 14: its base class, tx-xmpp's ``XMPPHandler``, imports Twisted's
XML stream and with it the TLS stack, so the plugin imports this module at the first
connection)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID
from twisted.words.protocols.jabber.xmlstream import toResponse
from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.exceptions import Stanza, Timeout
from sat_backend.core.sessions import new_iq
from sat_backend.plugins.plugin_xep_0030 import NS_DISCO_INFO, NS_DISCO_ITEMS, DiscoInfo

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0030 import ServiceDiscovery


class DiscoHandler(XMPPHandler):  # type: ignore[misc]
    def __init__(self, plugin: ServiceDiscovery, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client

    def connectionInitialized(self) -> None:
        self.xmlstream.addObserver(f"/iq[@type='get']/query[@xmlns='{NS_DISCO_INFO}']", self.on_info_request)
        self.xmlstream.addObserver(f"/iq[@type='get']/query[@xmlns='{NS_DISCO_ITEMS}']", self.on_items_request)

    def on_info_request(self, iq: domish.Element) -> None:
        iq.handled = True  # type: ignore[attr-defined]  # tells FallbackHandler we answered
        query = next(iq.elements(NS_DISCO_INFO, "query"))
        node = query.getAttribute("node")
        if node and node not in self.plugin.own_nodes():
            self.send(error.StanzaError("item-not-found").toResponse(iq))
            return
        response = toResponse(iq, "result")
        response.addChild(self.plugin.own_info().to_query(node))
        self.send(response)

    def on_items_request(self, iq: domish.Element) -> None:
        iq.handled = True  # type: ignore[attr-defined]  # tells FallbackHandler we answered
        response = toResponse(iq, "result")
        response.addElement((NS_DISCO_ITEMS, "query"))
        self.send(response)

    async def query_info(self, entity: JID, node: str | None = None) -> DiscoInfo:
        iq = new_iq(self.client, "get")
        iq["to"] = entity.full()
        query = iq.addElement((NS_DISCO_INFO, "query"))
        if node:
            query["node"] = node
        try:
            answer = await self.plugin.host.sessions.answer(iq.send())
        except error.StanzaError as exc:
            raise Stanza(f"{exc.condition}: {entity.full()} did not answer service discovery") from None
        except Exception as exc:  # noqa: BLE001 - xmlstream.TimeoutError and connection loss
            raise Timeout(f"no service discovery answer from {entity.full()}: {exc}") from None
        result = next(answer.elements(NS_DISCO_INFO, "query"), None)
        return DiscoInfo.from_query(result) if result is not None else DiscoInfo()
