"""The XEP-0280 handler of one profile's stream: enables carbons, receives the copies
(issue 14: its base class, tx-xmpp's ``XMPPHandler``, imports Twisted's XML stream and
with it the TLS stack, so the plugin imports this module at the first connection)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import parse_forwarded
from sat_backend.core.sessions import new_iq
from sat_backend.plugins.plugin_xep_0280 import NS_CARBONS, NS_FORWARD

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0280 import Carbons

log = logging.getLogger("sat_backend.plugins.plugin_xep_0280")


class CarbonsHandler(XMPPHandler):  # type: ignore[misc]
    def __init__(self, plugin: Carbons, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client

    def connectionInitialized(self) -> None:
        for direction in ("received", "sent"):
            self.xmlstream.addObserver(f"/message/{direction}[@xmlns='{NS_CARBONS}']", self.on_carbon)
        run_in_background(self.enable(), f"{self.client.profile}: enabling carbons", self.client.profile)

    async def enable(self) -> None:
        try:
            iq = new_iq(self.client, "set")
            iq.addElement((NS_CARBONS, "enable"))
            await self.plugin.host.sessions.answer(iq.send())
        except Exception as exc:  # noqa: BLE001 - a server without carbons is not an error
            log.info("%s: carbons not available: %s", self.client.profile, exc)
        else:
            log.debug("%s: carbons enabled", self.client.profile)

    def on_carbon(self, element: domish.Element) -> None:
        own_bare = self.client.jid.userhost()
        if element.getAttribute("from", own_bare) != own_bare:
            log.warning("%s: dropped a forged carbon from %s", self.client.profile, element.getAttribute("from"))
            return
        for wrapper in element.elements():  # elements(uri) alone ignores the namespace (Twisted)
            if wrapper.uri != NS_CARBONS:
                continue
            forwarded = next(wrapper.elements(NS_FORWARD, "forwarded"), None)
            if forwarded is None:
                continue
            messaging = self.plugin.host.messaging
            messaging.receive(
                self.client,
                lambda: parse_forwarded(forwarded, self.client.jid, change_parsers=messaging.changes.parsers),
                "carbon",
            )
