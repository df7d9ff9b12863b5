"""XEP-0308 Last Message Correction (v1.2.1, namespace ``urn:xmpp:message-correct:0``).

``MessageEdit`` sends a new text for one of our messages; received corrections replace
the text in history, which keeps the replaced ones (``message_versions``, shown in
``extra.edits``). Every correction names the *original* message, also when it corrects
a correction, and is accepted only from that message's author (a spoofing defence);
history applies it to any of the author's messages, not only the last one, as most
clients do.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.im.message_changes import is_from_author
from sat_backend.core.im.message_stanza import MalformedStanza, MessageChange, change_reference, texts
from sat_backend.core.im.messaging import MAX_BODY_LENGTH, too_long
from sat_backend.core.im.xml_texts import check_texts_by_lang
from sat_backend.core.json_arguments import parse_json_object
from sat_backend.memory.message_change_values import ReceivedChange
from sat_backend.memory.stored_message import StoredMessage

if TYPE_CHECKING:
    from sat_backend.core.host import Backend

log = logging.getLogger(__name__)

NS_CORRECT = "urn:xmpp:message-correct:0"
KIND = "edit"

PLUGIN_INFO = {
    "name": "Last Message Correction",
    "import_name": "XEP-0308",
    "type": "XEP",
    "protocols": ["XEP-0308"],
    "dependencies": ["XEP-0030"],
    "main": "Corrections",
    "description": "Correct a sent message; history keeps the previous texts",
}


def parse_correction(element: domish.Element) -> MessageChange | None:
    """The new text a correcting ``<message/>`` carries, or None.

    :raises MalformedStanza: no id of the corrected message, or no new text.
    """
    found = change_reference(element, NS_CORRECT, "replace")
    if found is None:
        return None
    _, reference = found
    bodies = texts(element, "body")
    if not bodies:
        raise MalformedStanza("a correction without its new text")
    if too_long(bodies):
        raise MalformedStanza("a correction longer than the longest message")
    return MessageChange(KIND, reference, {"message": bodies})


def edit_data(bodies: dict[str, str], edited: float) -> dict[str, Any]:
    """``MessageUpdate`` data of an ``edit``."""
    return {"message": bodies, "edited": edited}


class Corrections:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.changes = host.messaging.changes

    async def initialise(self) -> None:
        self.host.plugins["XEP-0030"].add_feature(NS_CORRECT)
        self.changes.register(KIND, parse_correction, self.on_correction)
        self.host.bridge.register_method("MessageEdit", self.edit)

    async def edit(self, message_uid: str, message: dict[str, str], extra_json: str, profile: str) -> None:
        """Correct one of our messages: send the new text, keep the old one, ``MessageUpdate``."""
        bodies = {lang: text for lang, text in message.items() if text}
        if not bodies:
            raise InvalidArgument("the new text is empty (retract the message to remove it)")
        if too_long(bodies):
            raise InvalidArgument(f"the message is longer than {MAX_BODY_LENGTH} characters")
        check_texts_by_lang(bodies, "message")
        parse_json_object(extra_json, "extra_json", ())
        async with self.changes.changing(message_uid, profile, own_only=True) as (client, target):
            stanza, _ = self.changes.change_stanza(client, target, (NS_CORRECT, "replace"), bodies)
            client.send_stanza(stanza)
            edited = time.time()
            if await self.changes.storage.replace_bodies(target.id, bodies, edited):
                self.changes.announce(target.id, KIND, edit_data(bodies, edited), client.profile)

    async def on_correction(self, profile: str, received: ReceivedChange,
                            target: StoredMessage) -> dict[str, Any] | None:
        if not is_from_author(profile, received, target):
            return None
        bodies = received.data.get("message")
        if not isinstance(bodies, dict) or not bodies:
            return None
        bodies = {str(lang): str(text) for lang, text in bodies.items()}
        if not await self.changes.storage.replace_bodies(target.id, bodies, received.timestamp):
            return None
        return edit_data(bodies, received.timestamp)
