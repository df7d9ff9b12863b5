"""Changes to earlier messages (reactions, corrections, retractions): what the three XEP
plugins share.

Each plugin registers its kind with a parser (stanza → :class:`MessageChange`, at the
edge) and an applier (stored change → new state in history). This module finds the
message a change names, applies it and emits ``MessageUpdate``; a change whose message
is not in history yet is kept in the database and applied when that message arrives
(typically from the archive, after the reaction came live), never dropped.

References (XEP-0444, XEP-0308, XEP-0424, in 1:1 chats): a message is named by
its XEP-0359 origin-id, or by its stanza ``id`` when the sender gave none. We send
messages with ``id`` = origin-id = uid, so both name our own messages. In rooms, the
room's stanza-id names a message too, and corrections and retractions are applied only
when the change and the message carry the same XEP-0421 occupant-id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import Conflict, InvalidArgument, NotFound, NotSupported, PermissionDenied
from sat_backend.core.im.message_stanza import ChangeParser, ChatMessage, build_message_element, new_uid
from sat_backend.memory.message_changes_storage import Conversation, MessageChangesStorage, ReceivedChange
from sat_backend.memory.stored_message import StoredMessage

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

#: an applier: (profile, change, its message) → ``MessageUpdate`` data, or None when
#: nothing changed (refused, stale, already applied)
Applier = Callable[[str, ReceivedChange, StoredMessage], Awaitable["dict[str, Any] | None"]]

MAX_UID_LENGTH = 64
#: changes applied in rooms, their author told by occupant-id (XEP-0421)
ROOM_KINDS = ("edit", "retract")
NS_HINTS = "urn:xmpp:hints"


class MessageChanges:
    """Registry of change kinds, and their common path: find, apply or keep, announce."""

    def __init__(self, host: Backend) -> None:
        self.host = host
        self.storage = MessageChangesStorage(host.storage)
        self._appliers: dict[str, Applier] = {}
        self.parsers: list[ChangeParser] = []
        #: stanzas and bridge calls are handled concurrently: "not found, keep it" and
        #: "arrived, take what waits for it" must not interleave (a change could wait
        #: forever), nor two changes that each build on the stored state (two corrections
        #: both keeping the same old text, two reaction sets both starting from the same)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def register(self, kind: str, parser: ChangeParser | None, applier: Applier) -> None:
        """Recognise changes of ``kind`` in received stanzas and apply them with ``applier``
        (no ``parser``: the kind's stanzas are recognised elsewhere, e.g. errors)."""
        self._appliers[kind] = applier
        if parser is not None:
            self.parsers.append(parser)

    # received changes ------------------------------------------------------------------

    async def on_received(self, profile: str, message: ChatMessage) -> None:
        """A stanza that changes an earlier message arrived (live, carbon or archive)."""
        assert message.change is not None
        if message.type == "groupchat":
            await self._receive_in_room(profile, message)
            return
        await self.receive(profile, ReceivedChange(
            kind=message.change.kind, reference_id=message.change.reference_id,
            sender=message.from_jid.userhost(), recipient=message.to_jid.userhost(),
            data=message.change.data, timestamp=message.timestamp,
        ))

    async def _receive_in_room(self, profile: str, message: ChatMessage) -> None:
        """A correction or retraction in a room (XEP-0045): every occupant shares the
        room's bare JID, so its author is told by the XEP-0421 occupant-id the room gave
        both stanzas (the group chat plugin keeps it in ``extra``); without one on either,
        or another one, it is ignored. Reactions in rooms are not applied yet."""
        change = message.change
        assert change is not None
        room, author = message.from_jid.userhost(), message.extra.get("occupant_id")
        if change.kind not in ROOM_KINDS or not author:
            log.info("%s: ignored a %s in %s (%s)", profile, change.kind, room,
                     "no occupant-id" if author is None else "not applied in rooms")
            return
        conversation = Conversation(room, message.to_jid.userhost())
        async with self._locks[profile]:
            target = await self.storage.find_referenced(profile, change.reference_id, conversation, by_stanza_id=True)
            if target is None or (target.extra or {}).get("occupant_id") != author:
                log.warning("%s: ignored a %s in %s of %s: %s", profile, change.kind, room, change.reference_id,
                            "unknown message" if target is None else "not its author (occupant-id)")
                return
            # the author checked, the appliers' own check (sender == source) holds by construction
            await self._apply(profile, ReceivedChange(
                kind=change.kind, reference_id=change.reference_id, sender=room, recipient=message.to_jid.userhost(),
                data=change.data, timestamp=message.timestamp,
            ), target, in_room=True)

    async def receive(self, profile: str, received: ReceivedChange) -> None:
        """Apply a received change to its message, or keep it until that message is stored."""
        conversation = Conversation(received.sender, received.recipient)
        async with self._locks[profile]:
            target = await self.storage.find_referenced(profile, received.reference_id, conversation)
            if target is None:
                log.info("%s: %s for unknown message %r kept until it arrives", profile, received.kind,
                         received.reference_id)
                await self.storage.add_pending(profile, received)
                return
            await self._apply(profile, received, target)

    async def apply_pending(self, profile: str, message: ChatMessage) -> None:
        """Apply the changes that arrived before ``message`` (just stored and announced)."""
        reference_ids = {ref for ref in (message.origin_id, message.message_id) if ref}
        conversation = Conversation(message.from_jid.userhost(), message.to_jid.userhost())
        async with self._locks[profile]:
            waiting = await self.storage.take_pending(profile, reference_ids, conversation)
            if not waiting:
                return
            # read once: what the appliers use of it (id, author) never changes, and the
            # storage checks the retraction itself when it writes
            target = await self.storage.get_message(profile, message.uid)
            if target is None:
                return
            for received in waiting:
                await self._apply(profile, received, target)

    async def _apply(self, profile: str, received: ReceivedChange, target: StoredMessage, *,
                     in_room: bool = False) -> None:
        if target.type == "groupchat" and not in_room:
            # a private message from a room occupant carries the room's bare JID too: it
            # must not change a room message either (same reason as in on_received)
            log.info("%s: ignored a %s of a group chat message", profile, received.kind)
            return
        applier = self._appliers.get(received.kind)
        if applier is None:
            log.warning("%s: no plugin applies %s changes", profile, received.kind)
            return
        data = await applier(profile, received, target)
        if data is not None:
            self.announce(target.id, received.kind, data, profile)

    def announce(self, uid: str, kind: str, data: dict[str, Any], profile: str) -> None:
        self.host.bridge.emit("MessageUpdate", uid, kind, json.dumps(data), profile)

    # changes we make -------------------------------------------------------------------

    @asynccontextmanager
    async def changing(
        self, message_uid: str, profile: str, *, own_only: bool
    ) -> AsyncIterator[tuple[XmppClient, StoredMessage]]:
        """The connected client and the message a bridge call wants to change, checked
        and held: no other change of the profile's messages (ours or received) runs
        until the block has sent and stored this one.

        :param own_only: only a message we sent (corrections, retractions): XEP-0308 and
            XEP-0424 let only the author change a message.
        :raises InvalidArgument: malformed uid.
        :raises ProfileNotConnected: the profile is offline.
        :raises NotFound: no such message in this profile's history.
        :raises PermissionDenied: ``own_only`` and someone else sent it.
        :raises Conflict: the message is retracted (nothing left to change).
        :raises NotSupported: a group chat message.
        """
        if not message_uid or len(message_uid) > MAX_UID_LENGTH:
            raise InvalidArgument("message_uid must be the uid of a message in history")
        client = self.host.sessions.get_client(await self.host.profiles.resolve(profile))
        async with self._locks[client.profile]:
            target = await self.storage.get_message(client.profile, message_uid)
            if target is None:
                raise NotFound(f"no message {message_uid!r} in the history of {client.profile!r}")
            if own_only and target.source != client.jid.userhost():
                raise PermissionDenied(
                    f"message {message_uid!r} was sent by {target.source}: only its author may change it"
                )
            if target.retracted is not None:
                raise Conflict(f"message {message_uid!r} was retracted")
            if target.type == "groupchat":
                raise NotSupported("changing group chat messages is not supported yet")
            yield client, target

    def change_stanza(
        self, client: XmppClient, target: StoredMessage, change: tuple[str, str],
        bodies: dict[str, str] | None = None, *, store: bool = False,
    ) -> tuple[domish.Element, domish.Element]:
        """A new ``<message/>`` to the other end of ``target``'s conversation, of the same
        type, with its own id and origin-id, and the child that makes it a change
        (``change``: namespace and name) naming ``target`` by :func:`reference_id`: the
        builder's side of :func:`~sat_backend.core.im.message_stanza.change_reference`.

        :param store: add a XEP-0334 store hint (a change without a real body, that
            archives must keep all the same).
        :returns: the stanza and that child, for the plugin's payload.
        :raises InvalidArgument: ``target`` came without any id.
        """
        reference = reference_id(target)
        own = client.jid.userhost()
        peer = target.dest if target.source == own else target.source
        message = ChatMessage(
            uid=new_uid(), timestamp=time.time(), from_jid=client.jid, to_jid=JID(peer),
            bodies=bodies or {}, subjects={}, type=target.type,
        )
        stanza = build_message_element(message)
        child = stanza.addElement(change)
        child["id"] = reference
        if store:
            stanza.addElement((NS_HINTS, "store"))
        return stanza, child


def reference_id(target: StoredMessage) -> str:
    """The id that names ``target`` for its other end (origin-id first, XEP-0359).

    :raises InvalidArgument: the message came without any id.
    """
    reference = target.origin_id or target.message_id
    if not reference:
        raise InvalidArgument(f"message {target.id!r} came without an id: it cannot be referred to")
    return reference


def is_from_author(profile: str, received: ReceivedChange, target: StoredMessage) -> bool:
    """Whether a correction or retraction comes from the message's author; anyone else's
    is a spoofing attempt (security considerations of XEP-0308 and XEP-0424): logged and ignored."""
    if received.sender == target.source:
        return True
    log.warning("%s: ignored a %s of %s's message %s sent by %s", profile, received.kind, target.source,
                target.id, received.sender)
    return False
