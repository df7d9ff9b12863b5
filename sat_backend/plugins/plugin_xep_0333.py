"""Read state of conversations, and XEP-0333 Chat Markers (v0.4, ``urn:xmpp:chat-markers:0``)
as far as it tells us that the user read a conversation on another device.

The backend keeps how far each conversation (1:1 or room, XEP-0045) was read (:mod:`sat_backend.memory.read_state_storage`)
so every frontend shows the same unread counts (``UnreadGet``, ``MarkRead``,
``UnreadChanged``). A conversation becomes read up to a message when:

- a frontend calls ``MarkRead``;
- one of our other devices sends a ``<displayed/>`` marker for it (we get the marker by
  carbons, XEP-0280, or from the archive): the marker is parsed as a change of the
  message it names, so a marker arriving before its message waits for it;
- we send a message in the conversation (from here or another device): one replies
  to what one has read.

When a frontend calls ``MarkRead``, the peer gets a ``<displayed/>`` marker for the last
message read that asked for one (``<markable/>``, kept as ``extra.markable``), unless
the profile's ``Privacy/SendReadMarkers`` param is off; it has a store hint, so our other
devices read it from the archive too. Markers from the other end (they read our
messages) are not tracked yet.

In rooms every message from an occupant counts (``extra.mention`` says which mention
us, for notifications); ours, from any device, read the room up to them. No marker is
sent into a room: XEP-0333 markers there are public to every occupant, and a
``MarkRead`` of a room only moves our read point.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from functools import cached_property
from typing import TYPE_CHECKING, Any

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument, NotFound
from sat_backend.core.im.background import run_in_background
from sat_backend.core.exceptions import ProfileNotConnected
from sat_backend.core.im.message_stanza import NS_CHAT_MARKERS, ChatMessage, MessageChange, change_reference
from sat_backend.core.params import ParamDefinition
from sat_backend.core.im.messaging import ANNOUNCED_TRIGGER
from sat_backend.core.jids import parse_jid
from sat_backend.memory.message_change_values import ReceivedChange
from sat_backend.core.lazy_import import lazy_module
from sat_backend.memory.stored_message import StoredMessage

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.memory import read_state_storage
    from sat_backend.memory.history_writes import StatementRunner
    from sat_backend.memory.read_state_storage import ReadStateStorage
else:  # builds Core statements at import (SQLAlchemy): imported by the first message or read state call
    read_state_storage = lazy_module("sat_backend.memory.read_state_storage")

log = logging.getLogger(__name__)

NS_MARKERS = NS_CHAT_MARKERS
SEND_READ_MARKERS = ParamDefinition(
    "Privacy", "SendReadMarkers", "bool", "true",
    "Tell contacts who ask for it (XEP-0333 markable messages) that you have read their messages",
)
KIND = "displayed"
#: seconds during which count changes of a profile are gathered before ``UnreadChanged``
#: is emitted: an archive catch-up storing hundreds of messages emits once per conversation
FLUSH_DELAY = 0.05
#: least seconds between two counts of one profile: while messages keep coming (a flood,
#: a catch-up) the counts are announced at most this often, so counting (a scan of the
#: unread messages) costs per period, not per message (issue 14: MessageSend)
FLUSH_SPACING = 0.25
#: conversations whose last announced count is remembered (the least recent are forgotten:
#: their next change is announced whatever the count)
ANNOUNCED_KEPT = 4096

PLUGIN_INFO = {
    "name": "Read state and Chat Markers",
    "import_name": "XEP-0333",
    "type": "XEP",
    "protocols": ["XEP-0333"],
    "recommendations": ["XEP-0280", "XEP-0313"],
    "main": "ReadState",
    "description": "Unread counts kept by the backend; read on another device is read here",
}


def parse_displayed(element: domish.Element) -> MessageChange | None:
    """The message a ``<displayed/>`` marker names, as a change of it; None without one.

    :raises MalformedStanza: a marker without the id of its message.
    """
    found = change_reference(element, NS_MARKERS, "displayed")
    if found is None:
        return None
    return MessageChange(KIND, found[1], {})


def conversation_jid(value: str) -> str:
    """Bare JID of a conversation's other end (a user or a service).

    :raises InvalidArgument: not a JID, or a full JID.
    """
    parsed = parse_jid(value, "conversation_jid")
    if parsed.resource:
        raise InvalidArgument("conversation_jid must be a bare JID, without /resource")
    return str(parsed.userhost())


class ReadState:
    @cached_property
    def storage(self) -> ReadStateStorage:
        """The read state's storage, made by its first use (not by a start)."""
        return read_state_storage.ReadStateStorage(self.host.storage)

    def __init__(self, host: Backend) -> None:
        self.host = host
        #: conversations whose count changed and is not announced yet, by profile
        self._dirty: dict[str, set[str]] = {}
        #: the count last announced per (profile, conversation): a signal only when it
        #: changes, and no count at all when a read point moves in a conversation that
        #: had none unread (every message we send moves one)
        self._announced: OrderedDict[tuple[str, str], int] = OrderedDict()
        #: when each profile's counts were last taken (loop time)
        self._counted_at: dict[str, float] = {}
        #: per profile, (uid, whether the read point moved) of the last message we sent,
        #: whose storing transaction moved it (:meth:`on_sent_stored`), until announced
        self._moved_when_stored: dict[str, tuple[str, bool]] = {}

    async def initialise(self) -> None:
        self.host.params_registry.declare(SEND_READ_MARKERS)
        self.host.messaging.changes.register(KIND, parse_displayed, self.on_displayed)
        self.host.triggers.add(ANNOUNCED_TRIGGER, self.on_announced)
        self.host.messaging.sent_writes.append(self.on_sent_stored)
        self.host.bridge.register_method("UnreadGet", self.unread_get)
        self.host.bridge.register_method("MarkRead", self.mark_read)
        self.host.bridge.enable_signal("UnreadChanged")

    async def own_jid(self, profile: str) -> str:
        return await self.host.params.get_public("Connection", "JabberID", profile)

    # bridge ----------------------------------------------------------------------------

    async def unread_get(self, conversation: str, profile: str) -> dict[str, int]:
        """Unread counts of every conversation, or of one (always present, 0 when read)."""
        peer = conversation_jid(conversation) if conversation else None
        profile = await self.host.profiles.resolve(profile)
        counts = await self.storage.unread_counts(profile, await self.own_jid(profile), peer)
        if peer is not None:
            counts.setdefault(peer, 0)
        return counts

    async def mark_read(self, conversation: str, up_to_uid: str, profile: str) -> int:
        """Mark read up to a message (``""``: the last one received) and announce the count."""
        peer = conversation_jid(conversation)
        profile = await self.host.profiles.resolve(profile)
        if up_to_uid:
            until = await self.storage.message_point(profile, up_to_uid, peer)
            if until is None:
                raise NotFound(f"no message {up_to_uid!r} in the conversation with {peer}")
            uid: str | None = up_to_uid
        else:
            last = await self.storage.last_point(profile, peer)
            if last is None:
                return 0
            until, uid = last
        moved = await self.storage.mark_read(profile, peer, until, uid)
        count = (await self.storage.unread_counts(profile, await self.own_jid(profile), peer)).get(peer, 0)
        if moved:
            self._announce(profile, peer, count)
            await self.send_displayed(profile, peer, until)
        return count

    async def send_displayed(self, profile: str, peer: str, until: float) -> None:
        """Tell ``peer`` we read its messages up to ``until`` (XEP-0333 ``<displayed/>``
        for the last one that asked for markers), if the profile allows it and is online."""
        if await self.host.params.get_public(*SEND_READ_MARKERS.key, profile) != "true":
            return
        target = await self.storage.last_markable(profile, peer, until)
        if target is None:
            return
        try:
            client = self.host.sessions.get_client(profile)
        except ProfileNotConnected:
            log.info("%s: offline, no displayed marker sent to %s", profile, peer)
            return
        stanza, displayed = self.host.messaging.changes.change_stanza(client, target, (NS_MARKERS, "displayed"),
                                                                      store=True)
        # XEP-0333 copies the message's id attribute (change_stanza prefers the origin-id);
        # a markable message always has one (see message_stanza)
        displayed["id"] = target.message_id or displayed["id"]
        client.send_stanza(stanza)
        log.debug("%s: displayed marker sent to %s for %s", profile, peer, target.id)

    # what makes a conversation unread or read -------------------------------------------

    async def on_announced(self, profile: str, message: ChatMessage) -> None:
        """A new message is stored: it is unread, or (ours) the conversation is read."""
        if message.type == read_state_storage.ROOM_TYPE:
            await self._on_room_message(profile, message)
            return
        if message.type not in read_state_storage.COUNTED_TYPES:
            return
        own = await self.own_jid(profile)
        sender, recipient = message.from_jid.userhost(), message.to_jid.userhost()
        if sender == own and recipient != own:
            moved = self._moved_on_store(profile, message.uid)
            if moved is None:
                moved = await self.storage.mark_read(profile, recipient, message.timestamp, message.uid)
            if moved:
                self._read_point_moved(profile, recipient)
        elif recipient == own and sender != own:
            self._changed(profile, sender)

    async def on_sent_stored(self, run: StatementRunner, profile_id: int, profile: str, message: ChatMessage) -> None:
        """A 1:1 message we send reads its conversation up to it: the read point moves in
        the transaction that stores the message (one commit per message sent, not two);
        :meth:`on_announced` then only announces."""
        if message.type not in read_state_storage.COUNTED_TYPES:
            return
        own = await self.own_jid(profile)
        recipient = message.to_jid.userhost()
        if message.from_jid.userhost() != own or recipient == own:
            return
        moved = await read_state_storage.move_read_point(run, profile_id, recipient, message.timestamp, message.uid)
        self._moved_when_stored[profile] = (message.uid, moved)

    def _moved_on_store(self, profile: str, uid: str) -> bool | None:
        """Whether storing our message ``uid`` moved its read point; None when its
        storing did not move it (another kind of message, or another one stored since)."""
        stored = self._moved_when_stored.get(profile)
        if stored is None or stored[0] != uid:
            return None
        del self._moved_when_stored[profile]
        return stored[1]

    async def _on_room_message(self, profile: str, message: ChatMessage) -> None:
        """A room message is unread, unless it is ours (sent from here, to the room; or
        from our nick, by another of our devices): then the room is read up to it."""
        room = message.from_jid.userhost()
        if not message.from_jid.resource:
            return  # the room's own: not counted
        if message.to_jid.userhost() == room or message.from_jid.resource == self._own_nick(profile, room):
            if await self.storage.mark_read(profile, room, message.timestamp, message.uid):
                self._read_point_moved(profile, room)
        else:
            self._changed(profile, room)

    def _own_nick(self, profile: str, room: str) -> str | None:
        """Our nick in ``room`` (None when we are not in it or group chats are not loaded)."""
        group_chats = self.host.plugins.get("XEP-0045")
        entered = group_chats.room_of(profile, room) if group_chats is not None else None
        return None if entered is None else str(entered.nick)

    async def on_displayed(self, profile: str, received: ReceivedChange,
                           target: StoredMessage) -> dict[str, Any] | None:
        """A displayed marker (XEP-0333) from one of our devices: read up to its message."""
        own = await self.own_jid(profile)
        if received.sender == own and received.recipient != own:
            if await self.storage.mark_read(profile, received.recipient, target.timestamp, target.id):
                self._read_point_moved(profile, received.recipient)
        return None  # no MessageUpdate: the message itself did not change

    def _changed(self, profile: str, peer: str) -> None:
        dirty = self._dirty.get(profile)
        if dirty is None:
            self._dirty[profile] = {peer}
            run_in_background(self._flush(profile), f"{profile}: announcing unread counts", profile)
        else:
            dirty.add(peer)

    def _read_point_moved(self, profile: str, peer: str) -> None:
        """A read point moved forward: the count can only go down, so a conversation
        announced at 0 stays at 0."""
        if self._announced.get((profile, peer)) != 0:
            self._changed(profile, peer)

    async def _flush(self, profile: str) -> None:
        loop = asyncio.get_running_loop()
        since = loop.time() - self._counted_at.get(profile, float("-inf"))
        await asyncio.sleep(max(FLUSH_DELAY, FLUSH_SPACING - since))
        self._counted_at[profile] = loop.time()
        peers = self._dirty.pop(profile, set())
        own = await self.own_jid(profile)
        counts = await self.storage.unread_counts(profile, own, among=peers)
        for peer in sorted(peers):
            self._announce(profile, peer, counts.get(peer, 0))

    def _announce(self, profile: str, peer: str, count: int) -> None:
        """``UnreadChanged``, unless this count is the one last announced."""
        key = (profile, peer)
        if self._announced.get(key) == count:
            return
        self._announced[key] = count
        self._announced.move_to_end(key)
        if len(self._announced) > ANNOUNCED_KEPT:
            self._announced.popitem(last=False)
        self.host.bridge.emit("UnreadChanged", peer, count, profile)
