"""XEP-0280 Message Carbons (v1.0, namespace ``urn:xmpp:carbons:2``).

With carbons on, the server copies to this client the messages our other devices send
and receive, so history and frontends show the whole conversation. A copy is trusted
only when it comes from our own bare JID (XEP-0280 §11: anyone else could forge one).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.carbons_handler import CarbonsHandler

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


class Carbons:
    def __init__(self, host: Backend) -> None:
        self.host = host

    async def initialise(self) -> None:
        self.host.sessions.add_handler_factory(self._make_handler)

    def _make_handler(self, client: XmppClient) -> CarbonsHandler:
        from sat_backend.plugins.carbons_handler import CarbonsHandler  # issue 14: at the first connection

        return CarbonsHandler(self, client)
