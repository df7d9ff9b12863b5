"""The XEP-0166 handler of one profile's stream: every Jingle IQ a peer sends goes to
the plugin (issue 14: its base class, tx-xmpp's ``XMPPHandler``, imports Twisted's XML
stream and with it the TLS stack, so the plugin imports this module at the first
connection)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.background import run_in_background
from sat_backend.plugins.jingle.namespaces import NS_JINGLE

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0166 import Jingle


class JingleHandler(XMPPHandler):  # type: ignore[misc]
    def __init__(self, plugin: Jingle, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client

    def connectionInitialized(self) -> None:
        self.xmlstream.addObserver(f"/iq[@type='set']/jingle[@xmlns='{NS_JINGLE}']", self.on_jingle)

    def connectionLost(self, reason: object) -> None:
        if self.plugin.application is not None:
            self.plugin.application.on_stream_lost(self.client.profile)

    def on_jingle(self, iq: domish.Element) -> None:
        iq.handled = True  # type: ignore[attr-defined]  # tells FallbackHandler we answer
        run_in_background(self.plugin.handle(self.client, iq), f"{self.client.profile}: Jingle request",
                          self.client.profile)
