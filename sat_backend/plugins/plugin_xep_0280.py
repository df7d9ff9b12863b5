"""XEP-0280 Message Carbons (v1.0, namespace ``urn:xmpp:carbons:2``).

With carbons on, the server copies to this client the messages our other devices send
and receive, so history and frontends show the whole conversation. A copy is trusted
only when it comes from our own bare JID (XEP-0280 §11: anyone else could forge one).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import parse_forwarded
from sat_backend.core.sessions import new_iq

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

NS_CARBONS = "urn:xmpp:carbons:2"
NS_FORWARD = "urn:xmpp:forward:0"

PLUGIN_INFO = {
    "name": "Message Carbons",
    "import_name": "XEP-0280",
    "type": "XEP",
    "protocols": ["XEP-0280"],
    "main": "Carbons",
    "handler": True,
    "description": "Copies of the messages sent and received by our other devices",
}


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


class Carbons:
    def __init__(self, host: Backend) -> None:
        self.host = host

    async def initialise(self) -> None:
        self.host.sessions.add_handler_factory(lambda client: CarbonsHandler(self, client))
