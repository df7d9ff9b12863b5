"""The pubsub cache's handler of one profile's stream: starts the check of
:mod:`~sat_backend.plugins.pubsub_cache.reconnect` each time the stream is initialised
(issue 14: its base class, tx-xmpp's ``XMPPHandler``, imports Twisted's XML stream and
with it the TLS stack, so the plugin imports this module at the first connection)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.background import run_in_background

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.pubsub_cache.reconnect import ReconnectCheck


class ReconnectHandler(XMPPHandler):  # type: ignore[misc]
    """Starts the check each time the stream is initialised (connect and reconnects)."""

    def __init__(self, check: ReconnectCheck, client: XmppClient) -> None:
        super().__init__()
        self.check = check
        self.client = client

    def connectionInitialized(self) -> None:
        """In the background: ``Connect`` does not wait for the check."""
        run_in_background(self.check.check_profile(self.client), f"{self.client.profile}: pubsub cache check",
                          self.client.profile)
