"""Our own presence (RFC 6121 §4): announce availability when the session opens.

Without an initial presence the server does not route messages sent to our bare JID to
this resource, so this is part of being connected. Contacts' presence and
``PresenceSet`` come with the roster work.
"""

from __future__ import annotations

from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

NS_CLIENT = "jabber:client"


class InitialPresenceHandler(XMPPHandler):  # type: ignore[misc]
    def connectionInitialized(self) -> None:
        self.send(domish.Element((NS_CLIENT, "presence")))
