"""Delivery errors of the messages we sent (RFC 6120 §8.3): a ``<message type='error'/>``
naming one of ours (a user or a domain that does not exist, a server that refuses it).

The error is kept in history with the message (``extra.error``: ``{condition, text}``)
and announced with ``MessageUpdate(uid, "error", {"error": …})``. It goes through
:class:`~sat_backend.core.im.message_changes.MessageChanges` like a correction: an
error that comes back before its message is stored waits for it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID, InvalidFormat
from twisted.words.xish import domish

from sat_backend.memory.message_change_values import ReceivedChange
from sat_backend.memory.stored_message import StoredMessage

if TYPE_CHECKING:
    from sat_backend.core.im.message_changes import MessageChanges
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

KIND = "error"
#: the server's text is kept up to this length
MAX_TEXT_LENGTH = 1000


def parse_delivery_error(element: domish.Element, own_jid: JID) -> ReceivedChange | None:
    """The delivery error a ``<message type='error'/>`` reports, or None (no id, no sender)."""
    reference = element.getAttribute("id")
    if not reference or not element.hasAttribute("from"):
        return None
    try:
        sender = JID(element["from"])
    except (InvalidFormat, UnicodeError):
        return None
    stanza_error = error.exceptionFromStanza(element)
    details = {"condition": stanza_error.condition or "undefined-condition",
               "text": (stanza_error.text or "")[:MAX_TEXT_LENGTH]}
    return ReceivedChange(kind=KIND, reference_id=str(reference), sender=sender.userhost(),
                          recipient=own_jid.userhost(), data={"error": details}, timestamp=time.time())


class DeliveryErrors:
    """Errors returned for our messages, recorded in their history rows."""

    def __init__(self, changes: MessageChanges) -> None:
        self.changes = changes
        changes.register(KIND, None, self.on_error)

    async def receive(self, client: XmppClient, element: domish.Element) -> None:
        received = parse_delivery_error(element, client.jid)
        if received is None:
            log.info("%s: ignored an error message without id or sender", client.profile)
            return
        log.info("%s: delivery error %s from %s", client.profile, received.data["error"]["condition"],
                 received.sender)
        await self.changes.receive(client.profile, received)

    async def on_error(self, profile: str, received: ReceivedChange, target: StoredMessage) -> dict[str, Any] | None:
        if target.source != received.recipient:  # only a message we sent can fail to be delivered
            return None
        if not await self.changes.storage.set_delivery_error(target.id, received.data["error"]):
            return None
        return dict(received.data)
