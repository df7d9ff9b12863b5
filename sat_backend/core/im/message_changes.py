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
room's stanza-id names a message too (what we use for reactions and retractions);
corrections and retractions are applied only when the change and the message carry the
same XEP-0421 occupant-id, reactions are kept per reactor (told by the group chat plugin),
and a moderation (XEP-0425) only when the room itself sends it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from functools import cached_property
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import Conflict, InvalidArgument, NotFound, NotSupported, PermissionDenied
from sat_backend.core.im.message_stanza import ChangeParser, ChatMessage, build_message_element, new_uid
from sat_backend.core.lazy_import import lazy_module
from sat_backend.memory.message_change_values import ReceivedChange
from sat_backend.memory.stored_message import StoredMessage

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.memory import message_changes_storage
    from sat_backend.memory.message_changes_storage import MessageChangesStorage
else:  # builds Core statements at import (SQLAlchemy): imported by the first change handled
    message_changes_storage = lazy_module("sat_backend.memory.message_changes_storage")

log = logging.getLogger(__name__)

#: an applier: (profile, change, its message) → ``MessageUpdate`` data, or None when
#: nothing changed (refused, stale, already applied)
Applier = Callable[[str, ReceivedChange, StoredMessage], Awaitable["dict[str, Any] | None"]]

MAX_UID_LENGTH = 64
#: changes applied in rooms only when their author is the message's (occupant-id, XEP-0421)
AUTHOR_KINDS = ("edit", "retract")
#: changes kept per reactor in rooms (the group chat plugin puts who in ``extra.reactor``)
REACTIONS = "reactions"
#: changes a room itself makes (XEP-0425), announced as this ``MessageUpdate`` type
MODERATE = "moderate"
UPDATE_TYPES = {MODERATE: "retract"}
NS_HINTS = "urn:xmpp:hints"


class MessageChanges:
    """Registry of change kinds, and their common path: find, apply or keep, announce."""

    @cached_property
    def storage(self) -> MessageChangesStorage:
        """The changes' storage, made by the first change handled (not by a start)."""
        return message_changes_storage.MessageChangesStorage(self.host.storage)

    def __init__(self, host: Backend) -> None:
        self.host = host
        self._appliers: dict[str, Applier] = {}
        self.parsers: list[ChangeParser] = []
        #: stanzas and bridge calls are handled concurrently: "not found, keep it" and
        #: "arrived, take what waits for it" must not interleave (a change could wait
        #: forever), nor two changes that each build on the stored state (two corrections
        #: both keeping the same old text, two reaction sets both starting from the same)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def register(self, kind: str, parser: ChangeParser | None, applier: Applier, *, first: bool = False) -> None:
        """Recognise changes of ``kind`` in received stanzas and apply them with ``applier``
        (no ``parser``: the kind's stanzas are recognised elsewhere, e.g. errors).

        :param first: try ``parser`` before those registered so far (the first match wins:
            a stanza a more general parser would take too)."""
        self._appliers[kind] = applier
        if parser is not None:
            self.parsers.insert(0 if first else len(self.parsers), parser)

    # received changes ------------------------------------------------------------------

    async def on_received(self, profile: str, message: ChatMessage) -> None:
        """A stanza that changes an earlier message arrived (live, carbon or archive)."""
        assert message.change is not None
        if message.type == "groupchat":
            await self._receive_in_room(profile, message)
            return
        if message.change.kind == MODERATE:
            log.warning("%s: ignored a moderation outside a room, from %s", profile, message.from_jid.full())
            return
        await self.receive(profile, ReceivedChange(
            kind=message.change.kind, reference_id=message.change.reference_id,
            sender=message.from_jid.userhost(), recipient=message.to_jid.userhost(),
            data=message.change.data, timestamp=message.timestamp,
        ))

    async def _receive_in_room(self, profile: str, message: ChatMessage) -> None:
        """A change in a room (XEP-0045): every occupant shares the room's bare JID, so
        who made it is told otherwise (:func:`room_change_sender`). A change of a message
        we do not have is ignored (a room's archive brings messages before their changes)."""
        change = message.change
        assert change is not None
        room = message.from_jid.userhost()
        async with self._locks[profile]:
            target = await self.storage.find_referenced(profile, change.reference_id, message_changes_storage.RoomMessages(room),
                                                        by_stanza_id=True)
            if target is None:
                log.info("%s: ignored a %s in %s of an unknown message %s", profile, change.kind, room,
                         change.reference_id)
                return
            sender = room_change_sender(profile, message, target)
            if sender is None:
                return
            data = change.data
            if change.kind == REACTIONS:   # who reacted, as the room shows it (ReactionsReceived)
                data = {**data, "from": message.from_jid.full()}
            await self._apply(profile, ReceivedChange(
                kind=change.kind, reference_id=change.reference_id, sender=sender, recipient=room,
                data=data, timestamp=message.timestamp,
            ), target, in_room=True)

    async def receive(self, profile: str, received: ReceivedChange) -> None:
        """Apply a received change to its message, or keep it until that message is stored."""
        conversation = message_changes_storage.Conversation(received.sender, received.recipient)
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
        conversation = message_changes_storage.Conversation(message.from_jid.userhost(), message.to_jid.userhost())
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
            self.announce(target.id, UPDATE_TYPES.get(received.kind, received.kind), data, profile)

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
        """
        if not message_uid or len(message_uid) > MAX_UID_LENGTH:
            raise InvalidArgument("message_uid must be the uid of a message in history")
        client = self.host.sessions.get_client(await self.host.profiles.resolve(profile))
        async with self._locks[client.profile]:
            target = await self.storage.get_message(client.profile, message_uid)
            if target is None:
                raise NotFound(f"no message {message_uid!r} in the history of {client.profile!r}")
            in_room = target.type == "groupchat"
            # ours in a room: stored from the room to the room (see the XEP-0045 plugin)
            if own_only and target.source != client.jid.userhost() and not (in_room and target.dest == target.source):
                raise PermissionDenied(
                    f"message {message_uid!r} was sent by {target.source}: only its author may change it"
                )
            if target.retracted is not None:
                raise Conflict(f"message {message_uid!r} was retracted")
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
        :raises NotSupported: a reaction to a room's message without the room's stanza-id.
        :raises NotFound: a room's message, and we are not in the room.
        """
        # XEP-0424 and XEP-0444: in a room, a retraction or a reaction names the message
        # by the room's stanza-id
        by_room_id = target.type == "groupchat" and change[1] in ("retract", "reactions")
        if by_room_id and not target.stanza_id and change[1] == "reactions":
            raise NotSupported(f"message {target.id!r} came without the room's stanza-id (XEP-0359): "
                               "a reaction could not name it")
        reference = target.stanza_id if by_room_id and target.stanza_id else reference_id(target)
        own = client.jid.userhost()
        peer = target.dest if target.source == own else target.source
        if target.type == "groupchat" and self.host.messaging.group_chats is not None:
            self.host.messaging.group_chats.occupant_jid(client.profile, JID(peer))  # NotFound: not in the room
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


def room_change_sender(profile: str, message: ChatMessage, target: StoredMessage) -> str | None:
    """Who made a change in a room, as its applier sees it, or None when it must be ignored
    (logged): a correction or retraction only from the message's author (the same
    XEP-0421 occupant-id as the message; one of ours comes back from the room, applied
    when sent), a reaction from its reactor (``extra.reactor``), a moderation only from
    the room itself (an occupant could write one)."""
    change = message.change
    assert change is not None
    room, kind = message.from_jid.userhost(), change.kind
    if target.type != "groupchat":
        why = "not a group chat message"
    elif kind == REACTIONS:
        reactor = message.extra.get("reactor")
        if isinstance(reactor, str) and reactor:
            return reactor
        why = "no occupant-id to tell who reacted"
    elif kind == MODERATE:
        if not message.from_jid.resource:
            return room
        why = f"sent by the occupant {message.from_jid.resource!r}, not by the room"
    elif kind in AUTHOR_KINDS:
        author = message.extra.get("occupant_id")
        if target.dest == target.source:
            log.debug("%s: a %s of our message in %s not applied again", profile, kind, room)
            return None
        if author and (target.extra or {}).get("occupant_id") == author:
            return room   # the author checked: the appliers' own check (sender == source) holds
        why = "no occupant-id" if not author else "not its author (occupant-id)"
    else:
        why = "not applied in rooms"
    log.warning("%s: ignored a %s in %s of %s: %s", profile, kind, room, change.reference_id, why)
    return None


def is_from_author(profile: str, received: ReceivedChange, target: StoredMessage) -> bool:
    """Whether a correction or retraction comes from the message's author; anyone else's
    is a spoofing attempt (security considerations of XEP-0308 and XEP-0424): logged and ignored."""
    if received.sender == target.source:
        return True
    log.warning("%s: ignored a %s of %s's message %s sent by %s", profile, received.kind, target.source,
                target.id, received.sender)
    return False
