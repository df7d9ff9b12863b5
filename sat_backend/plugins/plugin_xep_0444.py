"""XEP-0444 Message Reactions (v0.2.1, namespace ``urn:xmpp:reactions:0``).

A reaction stanza always carries the sender's *whole* set of reactions to a message
(an empty set removes them all), so history keeps one set per (message, sender) and
shows their union by emoji. ``MessageReactionsSet`` computes our new set from the
``update_type``, sends it and stores it; received sets (live, carbons of our other
devices, archive) go through :mod:`sat_backend.core.im.message_changes`. Each reaction
must be a single emoji (business rules, checked by :func:`~sat_backend.core.im.emoji.is_single_emoji`):
ours are refused with ``InvalidArgument``, others' are dropped from their set.

In rooms (XEP-0045), a reaction names the message by the room's stanza-id (XEP-0444 §4)
and goes to the room as ``groupchat``; the room shows everyone's, and one set is kept per
reactor as the group chat plugin tells them (occupant-id, real JID or occupant JID, see
:func:`~sat_backend.plugins.muc.room_history.reactor_of`). A set that changes nothing
(ours reflected by the room) is not announced again.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.im.emoji import is_single_emoji
from sat_backend.core.im.message_stanza import MessageChange, change_reference
from sat_backend.core.im.xml_texts import check_texts
from sat_backend.memory.message_change_values import ReceivedChange
from sat_backend.memory.stored_message import StoredMessage

if TYPE_CHECKING:
    from sat_backend.core.host import Backend

log = logging.getLogger(__name__)

NS_REACTIONS = "urn:xmpp:reactions:0"
KIND = "reactions"
UPDATE_TYPES = ("replace", "add", "remove", "toggle")
#: more distinct reactions than this from one sender to one message are cut
MAX_REACTIONS = 64

PLUGIN_INFO = {
    "name": "Message Reactions",
    "import_name": "XEP-0444",
    "type": "XEP",
    "protocols": ["XEP-0444"],
    "dependencies": ["XEP-0030"],
    "main": "Reactions",
    "description": "Emoji reactions to messages, kept in history per sender",
}


def parse_reactions(element: domish.Element) -> MessageChange | None:
    """The reaction set a ``<message/>`` carries (invalid reactions left out), or None.

    :raises MalformedStanza: ``<reactions/>`` without the id of its message.
    """
    found = change_reference(element, NS_REACTIONS, "reactions")
    if found is None:
        return None
    reactions, reference = found
    values: list[str] = []
    for child in reactions.elements(NS_REACTIONS, "reaction"):
        text = str(child)
        if not is_single_emoji(text):
            log.info("ignored a reaction that is not a single emoji: %r", text[:40])
        elif text not in values and len(values) < MAX_REACTIONS:
            values.append(text)
    return MessageChange(KIND, reference, {"reactions": values})


def updated_reactions(current: list[str], given: list[str], update_type: str) -> list[str]:
    """Our new reaction set after ``update_type`` with ``given`` (order kept, no duplicate).

    :raises InvalidArgument: unknown ``update_type``.
    """
    given = list(dict.fromkeys(given))
    if update_type == "replace":
        return given
    if update_type == "add":
        return current + [emoji for emoji in given if emoji not in current]
    if update_type == "remove":
        return [emoji for emoji in current if emoji not in given]
    if update_type == "toggle":
        kept = [emoji for emoji in current if emoji not in given]
        return kept + [emoji for emoji in given if emoji not in current]
    raise InvalidArgument(f"update_type must be one of {', '.join(UPDATE_TYPES)}")


def check_reactions(reactions: list[str], update_type: str) -> None:
    """:raises InvalidArgument: not a single emoji each, too many, or none to add/remove/toggle."""
    if update_type not in UPDATE_TYPES:
        raise InvalidArgument(f"update_type must be one of {', '.join(UPDATE_TYPES)}")
    if not reactions and update_type != "replace":
        raise InvalidArgument(f"no reaction to {update_type} (use replace with none to remove all)")
    if len(reactions) > MAX_REACTIONS:
        raise InvalidArgument(f"at most {MAX_REACTIONS} reactions")
    check_texts(reactions, "reaction")  # before quoting one in an error
    for reaction in reactions:
        if not is_single_emoji(reaction):
            raise InvalidArgument(f"{reaction[:40]!r} is not a single emoji (XEP-0444)")


class Reactions:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.changes = host.messaging.changes

    async def initialise(self) -> None:
        self.host.plugins["XEP-0030"].add_feature(NS_REACTIONS)
        self.changes.register(KIND, parse_reactions, self.on_reactions)
        self.host.bridge.register_method("MessageReactionsSet", self.reactions_set)
        self.host.bridge.enable_signal("ReactionsReceived")

    async def reactions_set(self, message_uid: str, reactions: list[str], update_type: str, profile: str) -> None:
        """Set our reactions to a message, send our whole set, store it, ``MessageUpdate``."""
        check_reactions(reactions, update_type)
        async with self.changes.changing(message_uid, profile, own_only=False) as (client, target):
            own = client.jid.userhost()
            current = await self.changes.storage.get_reactions_of(target.id, own)
            new = updated_reactions(current, reactions, update_type)
            stanza, element = self.changes.change_stanza(client, target, (NS_REACTIONS, "reactions"), store=True)
            for emoji in new:
                element.addElement("reaction", content=emoji)
            client.send_stanza(stanza)
            aggregated = await self.changes.storage.set_reactions(target.id, own, new, time.time())
            if aggregated is not None:   # announced in the order stored
                self.changes.announce(target.id, KIND, {"reactions": aggregated}, client.profile)

    async def on_reactions(self, profile: str, received: ReceivedChange,
                           target: StoredMessage) -> dict[str, Any] | None:
        reactions = received.data.get("reactions")
        if not isinstance(reactions, list):
            return None
        given = [str(emoji) for emoji in reactions]
        before = await self.changes.storage.get_reactions_of(target.id, received.sender)
        if before == given:   # e.g. ours reflected by a room, or a carbon of it: nothing new
            return None
        aggregated = await self.changes.storage.set_reactions(target.id, received.sender, given, received.timestamp)
        if aggregated is None:
            return None
        added = [emoji for emoji in given if emoji not in before]
        if added and await self.is_reaction_to_us(profile, received, target):
            in_room = target.type == "groupchat"
            # in a room: who reacted as the room shows them (room/nick)
            reactor = str(received.data.get("from") or received.sender) if in_room else received.sender
            self.host.bridge.emit("ReactionsReceived", target.id, target.source if in_room else target.dest,
                                  reactor, added, profile)
        return {"reactions": aggregated}

    async def is_reaction_to_us(self, profile: str, received: ReceivedChange, target: StoredMessage) -> bool:
        """Whether someone else reacted to a message we sent (what deserves a notification);
        ours in a room are stored from the room to the room (see the XEP-0045 plugin)."""
        own = await self.host.params.get_public("Connection", "JabberID", profile)
        ours = target.source == target.dest if target.type == "groupchat" else target.source == own
        return ours and received.sender != own
