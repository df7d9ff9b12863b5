"""The stream observer of every incoming ``<message/>`` of one profile (issue 14: its
base class, tx-xmpp's ``XMPPHandler``, imports Twisted's XML stream and with it the TLS
stack, so :mod:`~sat_backend.core.im.messaging` imports this module at the first
connection, not at start)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import parse_message_element

if TYPE_CHECKING:
    from sat_backend.core.im.messaging import Messaging
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger("sat_backend.core.im.messaging")


class MessageHandler(XMPPHandler):  # type: ignore[misc]
    """Observes every incoming ``<message/>`` of one profile's stream."""

    def __init__(self, messaging: Messaging, client: XmppClient) -> None:
        super().__init__()
        self.messaging = messaging
        self.client = client

    def connectionInitialized(self) -> None:
        self.xmlstream.addObserver("/message", self.on_message_element)

    def on_message_element(self, element: domish.Element) -> None:
        if element.getAttribute("type") == "error":
            if self.messaging.group_chats is not None and self.messaging.group_chats.on_error(self.client, element):
                return
            run_in_background(self.messaging.delivery_errors.receive(self.client, element),
                              f"{self.client.profile}: recording a delivery error", self.client.profile)
            return
        if element.getAttribute("type") == "groupchat":
            if self.messaging.group_chats is None:
                log.info("%s: dropped a group chat message (the XEP-0045 plugin is not loaded)", self.client.profile)
            else:
                self.messaging.group_chats.on_groupchat(self.client, element)
            return
        self.messaging.receive(
            self.client,
            lambda: parse_message_element(element, self.client.jid, self.messaging.changes.parsers),
            "message",
        )
