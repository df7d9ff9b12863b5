"""XEP-0424 Message Retraction (v0.4.2, namespace ``urn:xmpp:message-retract:1``),
with a XEP-0428 Fallback Indication (v0.2.1, ``urn:xmpp:fallback:0``) body for clients
that do not know it.

``MessageRetract`` asks the other end to forget one of our messages; a received
retraction (only from the message's author: anyone else's is spoofing) empties the
message in history: the row stays as a tombstone (``extra.retracted``: when), its text,
previous versions and reactions are deleted. ``:1`` is the namespace slixmpp and current clients speak; the
older ``:0`` (v0.2, with XEP-0422 fastening) is not understood.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from twisted.words.xish import domish

from sat_backend.core.im.message_changes import is_from_author
from sat_backend.core.im.message_stanza import MessageChange, change_reference
from sat_backend.memory.message_change_values import ReceivedChange
from sat_backend.memory.stored_message import StoredMessage

if TYPE_CHECKING:
    from sat_backend.core.host import Backend

log = logging.getLogger(__name__)

NS_RETRACT = "urn:xmpp:message-retract:1"
NS_FALLBACK = "urn:xmpp:fallback:0"
KIND = "retract"
FALLBACK_BODY = "This person attempted to retract a previous message, but it's unsupported by your client."

PLUGIN_INFO = {
    "name": "Message Retraction",
    "import_name": "XEP-0424",
    "type": "XEP",
    "protocols": ["XEP-0424", "XEP-0428"],
    "dependencies": ["XEP-0030"],
    "main": "Retractions",
    "description": "Retract a sent message; history keeps a tombstone",
}


def parse_retraction(element: domish.Element) -> MessageChange | None:
    """The message a ``<message/>`` retracts, or None.

    :raises MalformedStanza: ``<retract/>`` without the id of its message.
    """
    found = change_reference(element, NS_RETRACT, "retract")
    return None if found is None else MessageChange(KIND, found[1])


def retract_data(retracted: float, by: str) -> dict[str, Any]:
    """``MessageUpdate`` data of a ``retract``."""
    return {"retracted": retracted, "by": by}


class Retractions:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.changes = host.messaging.changes

    async def initialise(self) -> None:
        disco = self.host.plugins["XEP-0030"]
        disco.add_feature(NS_RETRACT)
        disco.add_feature(NS_FALLBACK)
        self.changes.register(KIND, parse_retraction, self.on_retraction)
        self.host.bridge.register_method("MessageRetract", self.retract)

    async def retract(self, message_uid: str, profile: str) -> None:
        """Retract one of our messages: send the retraction, leave a tombstone, ``MessageUpdate``."""
        async with self.changes.changing(message_uid, profile, own_only=True) as (client, target):
            stanza, _ = self.changes.change_stanza(client, target, (NS_RETRACT, "retract"), {"": FALLBACK_BODY},
                                                   store=True)
            stanza.addElement((NS_FALLBACK, "fallback"))["for"] = NS_RETRACT
            client.send_stanza(stanza)
            retracted = time.time()
            if await self.changes.storage.retract(target.id, retracted):
                self.changes.announce(target.id, KIND, retract_data(retracted, target.source), client.profile)

    async def on_retraction(self, profile: str, received: ReceivedChange,
                            target: StoredMessage) -> dict[str, Any] | None:
        if not is_from_author(profile, received, target):
            return None
        if not await self.changes.storage.retract(target.id, received.timestamp):
            return None
        return retract_data(received.timestamp, received.sender)
