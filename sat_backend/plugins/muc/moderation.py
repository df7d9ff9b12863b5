"""XEP-0425 Moderated Message Retraction in rooms: a moderator retracts an occupant's
message, and the room announces it to everyone.

Both versions servers speak are implemented: v0.3.0 (``urn:xmpp:message-moderate:1``,
the announcement a XEP-0424 ``<retract/>`` carrying ``<moderated/>``), the current one,
and v0.2.1 (``urn:xmpp:message-moderate:0``, wrapped in XEP-0422 ``<apply-to/>``
fastening), which Debian 12's Prosody ``mod_muc_moderation`` (prosody-modules 2023-02)
speaks. A request uses the newest version the room advertises. ejabberd has it from
23.04 on (the 23.01 of Debian 12 does not).

An announcement is applied only when the room itself sends it (from its bare JID): an
occupant could write the same elements. The message becomes a tombstone, as for a
XEP-0424 retraction, with ``extra.moderated`` = ``{"by": moderator, "reason": text}``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from twisted.words.xish import domish

from sat_backend.core.exceptions import Conflict, InvalidArgument, NotFound, NotSupported
from sat_backend.core.im.message_changes import MAX_UID_LENGTH, MODERATE
from sat_backend.core.im.message_stanza import MalformedStanza, MessageChange, children_named, first_child
from sat_backend.core.jids import parse_jid
from sat_backend.memory.message_change_values import ReceivedChange
from sat_backend.memory.stored_message import StoredMessage
from sat_backend.plugins.muc.administration import check_reason
from sat_backend.plugins.muc.stanzas import MAX_TEXT_LENGTH

if TYPE_CHECKING:
    from sat_backend.plugins.plugin_xep_0045 import GroupChats

log = logging.getLogger(__name__)

NS_MODERATE_1 = "urn:xmpp:message-moderate:1"
NS_MODERATE_0 = "urn:xmpp:message-moderate:0"
NS_FASTEN = "urn:xmpp:fasten:0"
NS_RETRACT_1 = "urn:xmpp:message-retract:1"
NS_RETRACT_0 = "urn:xmpp:message-retract:0"
#: newest first: the version a request uses is the first the room advertises
VERSIONS = (NS_MODERATE_1, NS_MODERATE_0)


def moderation_version(features: frozenset[str]) -> str | None:
    """The XEP-0425 namespace to speak with a room (disco#info features), or None."""
    return next((namespace for namespace in VERSIONS if namespace in features), None)


def parse_moderation(element: domish.Element) -> MessageChange | None:
    """The moderation a ``<message/>`` announces (either version), or None (a plain
    XEP-0424 retraction is not one).

    :raises MalformedStanza: a moderation without the id of its message.
    """
    found = _moderation_v1(element) or _moderation_v0(element)
    if found is None:
        return None
    reference, moderated, reason_parent = found
    if not reference:
        raise MalformedStanza("a moderation without the id of its message")
    return MessageChange(MODERATE, reference, {
        "by": _moderator(moderated.getAttribute("by")),
        "reason": _reason(reason_parent) or _reason(moderated),
    })


def _moderation_v1(element: domish.Element) -> tuple[str, domish.Element, domish.Element] | None:
    """v0.3.0: ``<retract id><moderated by/><reason/></retract>``."""
    for retract in children_named(element, NS_RETRACT_1, "retract"):
        moderated = first_child(retract, NS_MODERATE_1, "moderated")
        if moderated is not None:
            return str(retract.getAttribute("id", "")), moderated, retract
    return None


def _moderation_v0(element: domish.Element) -> tuple[str, domish.Element, domish.Element] | None:
    """v0.2.1: ``<apply-to id><moderated by><retract/><reason/></moderated></apply-to>``
    (only the retraction: the version's other moderations are not understood)."""
    for apply_to in children_named(element, NS_FASTEN, "apply-to"):
        moderated = first_child(apply_to, NS_MODERATE_0, "moderated")
        if moderated is not None and first_child(moderated, NS_RETRACT_0, "retract") is not None:
            return str(apply_to.getAttribute("id", "")), moderated, moderated
    return None


def _moderator(by: str | None) -> str:
    """The moderator's occupant JID as the room wrote it, when it is a JID."""
    if not by:
        return ""
    try:
        return parse_jid(str(by), "by").full()
    except InvalidArgument:
        return ""


def _reason(parent: domish.Element) -> str:
    for child in parent.elements():
        if child.name == "reason":
            return str(child)[:MAX_TEXT_LENGTH]
    return ""


def moderation_request(version: str, stanza_id: str, reason: str) -> domish.Element:
    """The IQ payload asking the room to retract the message of ``stanza_id``."""
    if version == NS_MODERATE_1:
        moderate = payload = domish.Element((NS_MODERATE_1, "moderate"))
        moderate["id"] = stanza_id
        moderate.addElement((NS_RETRACT_1, "retract"))
    else:
        payload = domish.Element((NS_FASTEN, "apply-to"))
        payload["id"] = stanza_id
        moderate = payload.addElement((NS_MODERATE_0, "moderate"))
        moderate.addElement((NS_RETRACT_0, "retract"))
    if reason:
        moderate.addElement("reason", content=reason)
    return payload


def moderated_data(retracted: float, room: str, moderated: dict[str, str]) -> dict[str, Any]:
    """``MessageUpdate(uid, "retract", …)`` data of a moderation."""
    return {"retracted": retracted, "by": room, "moderated": moderated}


class Moderation:
    """``MucMessageModerate``, and the room's announcements into history."""

    def __init__(self, plugin: GroupChats) -> None:
        self.plugin = plugin
        self.host = plugin.host
        self.changes = plugin.host.messaging.changes

    def register(self) -> None:
        # before XEP-0424's parser: a v0.3.0 announcement is a <retract/> too
        self.changes.register(MODERATE, parse_moderation, self.on_moderation, first=True)
        self.host.bridge.register_method("MucMessageModerate", self.moderate)

    async def moderate(self, message_uid: str, reason: str, profile: str) -> None:
        """Ask the room to retract an occupant's message (we must be a moderator); the
        room's announcement then updates history as for everyone.

        :raises NotFound: unknown uid, a room we are not in, or the room does not know the message.
        :raises InvalidArgument: not a room message, bad reason.
        :raises NotSupported: the room does not moderate messages, or gave the message no stanza-id.
        :raises PermissionDenied: we are not a moderator.
        :raises Conflict: the message is retracted already.
        """
        if not message_uid or len(message_uid) > MAX_UID_LENGTH:
            raise InvalidArgument("message_uid must be the uid of a message in history")
        reason = check_reason(reason)
        resolved = await self.host.profiles.resolve(profile)
        target = await self.changes.storage.get_message(resolved, message_uid)
        if target is None:
            raise NotFound(f"no message {message_uid!r} in the history of {resolved!r}")
        if target.type != "groupchat":
            raise InvalidArgument(f"message {message_uid!r} is not a group chat message")
        if target.retracted is not None:
            raise Conflict(f"message {message_uid!r} was retracted")
        room = self.plugin.joined_room(resolved, parse_jid(target.source, "room"))
        if room.moderation is None:
            raise NotSupported(f"{target.source} does not offer message moderation (XEP-0425)")
        if not target.stanza_id:
            raise NotSupported(f"message {message_uid!r} came without the room's stanza-id (XEP-0359)")
        await self.plugin.administration.request(
            resolved, room.jid, moderation_request(room.moderation, target.stanza_id, reason), "set",
            f"the moderation of message {target.stanza_id}")

    async def on_moderation(self, profile: str, received: ReceivedChange,
                            target: StoredMessage) -> dict[str, Any] | None:
        """The room retracted a message (the core checked that the room itself sent it)."""
        moderated = {"by": str(received.data.get("by") or ""), "reason": str(received.data.get("reason") or "")}
        retracted = received.timestamp or time.time()
        if not await self.changes.storage.retract(target.id, retracted, moderated=moderated):
            return None
        log.info("%s: message %s of %s moderated by %s", profile, target.id, received.sender,
                 moderated["by"] or "the room")
        return moderated_data(retracted, received.sender, moderated)
