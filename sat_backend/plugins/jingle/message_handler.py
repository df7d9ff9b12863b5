"""The XEP-0353 handler of one profile's stream: Jingle messages received, and those
our other devices sent (issue 14: its base class, tx-xmpp's ``XMPPHandler``, imports
Twisted's XML stream and with it the TLS stack, so the plugin imports this module at
the first connection)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.message_stanza import NS_CLIENT
from sat_backend.plugins.plugin_xep_0280 import NS_CARBONS, NS_FORWARD
from sat_backend.plugins.plugin_xep_0353 import jingle_message_children

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0353 import JingleMessageInitiation


class JingleMessageHandler(XMPPHandler):  # type: ignore[misc]
    def __init__(self, plugin: JingleMessageInitiation, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client

    def connectionInitialized(self) -> None:
        self.xmlstream.addObserver("/message", self.on_message)
        self.xmlstream.addObserver(f"/message/sent[@xmlns='{NS_CARBONS}']", self.on_sent_carbon)

    def connectionLost(self, reason: object) -> None:
        self.plugin.on_stream_lost(self.client.profile)

    def on_message(self, element: domish.Element) -> None:
        if element.getAttribute("type") == "error":
            return
        for child in jingle_message_children(element):
            self.plugin.on_jingle_message(self.client, element.getAttribute("from"), child)

    def on_sent_carbon(self, element: domish.Element) -> None:
        """A message our other device sent: its proceed/reject ends our ringing."""
        if element.getAttribute("from", self.client.jid.userhost()) != self.client.jid.userhost():
            return  # forged (XEP-0280 §11); the carbons plugin logs it
        for wrapper in element.elements(NS_CARBONS, "sent"):
            for forwarded in wrapper.elements(NS_FORWARD, "forwarded"):
                for message in forwarded.elements(NS_CLIENT, "message"):
                    for child in jingle_message_children(message):
                        self.plugin.on_our_other_device(self.client, child)
