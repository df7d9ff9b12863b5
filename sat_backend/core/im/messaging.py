"""Sending and receiving messages, keeping history, announcing them with ``MessageNew``;
stanzas that change earlier messages go to :class:`MessageChanges` instead."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Protocol, TypeVar

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import Database, InvalidArgument, NotSupported, ProfileNotConnected, ProfileUnknown
from sat_backend.core.im.delivery_errors import DeliveryErrors
from sat_backend.core.im.inbox import Inbox
from sat_backend.core.im.message_changes import MessageChanges
from sat_backend.core.im.message_stanza import (
    HISTORY_KEYS,
    SENDABLE_TYPES,
    ChatMessage,
    MalformedStanza,
    history_tuple,
    message_xml,
    new_uid,
)
from sat_backend.core.im.xml_texts import check_texts_by_lang
from sat_backend.core.jids import parse_jid
from sat_backend.core.lazy_import import lazy_module
from sat_backend.core.json_arguments import parse_json_object
from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.history_query import HistoryQuery

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.im import message_handler
    from sat_backend.memory.history_writes import StatementRunner  # SQLAlchemy's: not imported by a start
    from sat_backend.core.xmpp.client import XmppClient
else:  # at the first connection (issue 14)
    message_handler = lazy_module("sat_backend.core.im.message_handler")

log = logging.getLogger(__name__)

MAX_BODY_LENGTH = 100_000
#: trigger run with (client, message) once a received message is in history (or was already)
RECEIVED_STORED_TRIGGER = "message_received_stored"
#: trigger run with (client, message) when a received message could not be stored
RECEIVED_NOT_STORED_TRIGGER = "message_received_not_stored"
#: trigger run with (profile, message) once a new message (sent, or received live, by
#: carbons or from the archive) is stored and ``MessageNew`` emitted
ANNOUNCED_TRIGGER = "message_announced"

#: statements run with (runner, profile row id, profile, message) in the transaction that
#: stores a message we send (:attr:`Messaging.sent_writes`)
SentWrite = Callable[["StatementRunner", int, str, "ChatMessage"], Awaitable[None]]
#: a received message waiting in a profile's inbox, with the session it came by
Received = tuple["XmppClient", ChatMessage]
Item = TypeVar("Item")


def too_long(*by_lang: dict[str, str]) -> bool:
    """Whether these texts (bodies, subjects, by language) together exceed
    :data:`MAX_BODY_LENGTH`: the bound of a message we send, and of a correction."""
    return sum(len(text) for texts in by_lang for text in texts.values()) > MAX_BODY_LENGTH


def entry_to_store(message: ChatMessage) -> HistoryEntry:
    """The history entry of a received message, about to be stored."""
    entry = message.to_history()
    if entry.received_timestamp is not None:
        # a message may come twice (live, and from the archive catch-up running beside):
        # the copy stored first stays, so its arrival is when it is stored, not parsed;
        # otherwise a later-parsed copy could sort before the next message (same second)
        entry.received_timestamp = time.time()
    return entry


def new_message_runs(batch: Sequence[Item], message_of: Callable[[Item], ChatMessage]) -> Iterator[list[Item]]:
    """``batch`` cut into runs of consecutive new messages, each to be stored in one
    transaction; a change of an earlier message (correction, reaction…) goes alone: it
    may concern a message just before it, which must be announced first."""
    run: list[Item] = []
    for item in batch:
        if message_of(item).change is None:
            run.append(item)
            continue
        if run:
            yield run
            run = []
        yield [item]
    if run:
        yield run


def _message_of_received(received: Received) -> ChatMessage:
    return received[1]


def _same_message(message: ChatMessage) -> ChatMessage:
    return message


class GroupChats(Protocol):
    """What the group chat plugin (XEP-0045) offers the core: ``groupchat`` messages
    belong to the rooms we are in, and only that plugin knows them."""

    def on_groupchat(self, client: XmppClient, element: domish.Element) -> None:
        """A received ``groupchat`` message (the plugin drops those of rooms we are not in)."""

    def on_error(self, client: XmppClient, element: domish.Element) -> bool:
        """A received ``type='error'`` message: True when it comes from a room we are in
        (the plugin handles it), False for the core's delivery errors."""

    def occupant_jid(self, profile: str, room: JID) -> JID:
        """Our ``room/nick``, the sender of what we send to ``room``.

        :raises NotFound: we are not in that room.
        :raises InvalidArgument: ``room`` is not a room's bare JID.
        """


class Messaging:
    """The core's messaging service, shared by every profile."""

    def __init__(self, host: Backend) -> None:
        self.host = host
        #: reactions, corrections, retractions: kinds registered by their plugins
        self.changes = MessageChanges(host)
        self.delivery_errors = DeliveryErrors(self.changes)
        self._inboxes: dict[str, Inbox[Received]] = {}
        #: set by the XEP-0045 plugin when it loads
        self.group_chats: GroupChats | None = None
        #: what goes with the history insert of each message we send, in its transaction
        #: (the read state moves the conversation's read point: one commit, not two)
        self.sent_writes: list[SentWrite] = []

    def make_handler(self, client: XmppClient) -> message_handler.MessageHandler:
        return message_handler.MessageHandler(self, client)

    def receive(self, client: XmppClient, parse: Callable[[], ChatMessage | None], kind: str) -> None:
        """Parse a received stanza and queue its message to be stored and announced, in
        arrival order; what cannot be parsed is logged and dropped (called from stream
        observers)."""
        try:
            message = parse()
        except MalformedStanza as exc:
            log.warning("%s: dropped a malformed %s: %s", client.profile, kind, exc)
            return
        if message is not None:
            self._inbox(client.profile).put((client, message))

    def _inbox(self, profile: str) -> Inbox[Received]:
        inbox = self._inboxes.get(profile)
        if inbox is None:
            inbox = self._inboxes[profile] = Inbox(self._store_received, self._not_stored, profile, profile=profile)
        return inbox

    async def _store_received(self, batch: list[Received]) -> None:
        """Store and announce the messages waiting in a profile's inbox, in arrival order;
        each run of new messages shares one transaction (:func:`new_message_runs`)."""
        for run in new_message_runs(batch, _message_of_received):
            if len(run) == 1:
                await self._guarded(run[0], self._store_one(run[0]))
            else:
                await self._store_run(run)

    async def _store_one(self, received: Received) -> None:
        client, message = received
        try:
            await self.on_received(client, message)
        except Database:
            await self._not_stored(received)
            return
        await self.host.triggers.run(RECEIVED_STORED_TRIGGER, client, message)

    async def _store_run(self, run: list[Received]) -> None:
        """New messages stored in one transaction (one commit for all), then announced in
        order. When that transaction fails, whatever the error, each is stored on its own
        as if they had come apart: a message the database refuses costs no other one."""
        stored = await self._stored_together(run[0][0].profile, [message for _, message in run])
        if stored is None:
            for received in run:
                await self._guarded(received, self._store_one(received))
            return
        for received, new in zip(run, stored):
            await self._guarded(received, self._announce_stored(received, new))

    async def _stored_together(self, profile: str, messages: list[ChatMessage]) -> list[bool] | None:
        """Store new messages in one transaction (one commit for all): whether each was new,
        or None when the transaction failed, whatever the error; the caller then stores
        each on its own, as if they had come apart, so that a message the database
        refuses costs no other one.

        :raises ProfileUnknown: the profile was deleted meanwhile.
        """
        try:
            return await self.host.storage.add_all_to_history(profile, [entry_to_store(m) for m in messages])
        except ProfileUnknown:
            raise
        except Exception:  # noqa: BLE001 - each alone meets the same error, if it is theirs
            return None

    async def _announce_stored(self, received: Received, new: bool) -> None:
        client, message = received
        await self._announce_if_new(client.profile, message, new)
        await self.host.triggers.run(RECEIVED_STORED_TRIGGER, client, message)

    @staticmethod
    async def _guarded(received: Received, work: Awaitable[object]) -> None:
        """``work`` on one message of a batch: its failure is logged and the next message
        goes on; a deleted profile ends the batch (the inbox drops what waits)."""
        try:
            await work
        except ProfileUnknown:
            raise
        except Exception:  # noqa: BLE001 - one bad message must not stop the others
            log.exception("%s: failed to handle a received message", received[0].profile)

    async def _not_stored(self, received: Received) -> None:
        client, message = received
        log.warning("%s: a received message could not be stored; the archive catch-up will fetch it again",
                    client.profile)
        await self.host.triggers.run(RECEIVED_NOT_STORED_TRIGGER, client, message)

    async def send(
        self, to_jid: str, bodies: dict[str, str], subjects: dict[str, str], message_type: str,
        extra_json: str, profile: str,
    ) -> str:
        """:raises InvalidArgument: bad JID, empty message, unknown type, bad extra, a
            character XML forbids (checked before anything is stored or sent).
        :raises ProfileNotConnected: the profile is offline.
        :raises NotFound: a ``groupchat`` message to a room we are not in."""
        recipient = parse_jid(to_jid, "to_jid")
        message_type = message_type or "chat"
        if message_type not in (*SENDABLE_TYPES, "groupchat"):
            raise InvalidArgument(f"type must be one of {', '.join(SENDABLE_TYPES)} or groupchat")
        if not any(bodies.values()) and not any(subjects.values()):
            raise InvalidArgument("the message has no body and no subject")
        if too_long(bodies, subjects):
            raise InvalidArgument(f"the message is longer than {MAX_BODY_LENGTH} characters")
        check_texts_by_lang(bodies, "message")
        check_texts_by_lang(subjects, "subject")
        extra = parse_json_object(extra_json, "extra_json")
        reserved = sorted(set(extra) & set(HISTORY_KEYS))
        if reserved:
            raise InvalidArgument(f"extra_json keys {', '.join(reserved)} are the backend's (what happened to a "
                                  "message since), not a sender's")
        client = self.host.sessions.get_client(await self.host.profiles.resolve(profile))
        sender = client.jid
        if message_type == "groupchat":
            if self.group_chats is None:
                raise NotSupported("group chats need the XEP-0045 plugin, which is not loaded")
            # stored as the room shows it (room/our nick): its reflection is then recognised
            # by origin-id as this message, not stored twice
            sender = self.group_chats.occupant_jid(client.profile, recipient)
        uid = new_uid()
        message = ChatMessage(
            uid=uid, origin_id=uid, message_id=uid, timestamp=time.time(), from_jid=sender, to_jid=recipient,
            bodies={lang: text for lang, text in bodies.items() if text},
            subjects={lang: text for lang, text in subjects.items() if text},
            type=message_type, extra=extra,
        )
        # stored first: when storage fails (full disk) nothing was sent, so a retry sends it once
        await self.host.storage.add_to_history(client.profile, message.to_history(), new_ids=True,
                                               then=self._sent_writes(client.profile, message))
        try:
            client.send_stanza(message_xml(message))
        except (ProfileNotConnected, InvalidArgument):
            # not sent (the session closed meanwhile, or the stream's last guard refused the
            # stanza): history must not show it as sent
            await self.host.storage.delete_from_history(client.profile, message.uid)
            raise
        # no change can be waiting for a message whose ids were made just now
        self.host.bridge.emit("MessageNew", *message.bridge_tuple(), client.profile)
        await self.host.triggers.run(ANNOUNCED_TRIGGER, client.profile, message)
        return message.uid

    def _sent_writes(self, profile: str, message: ChatMessage) -> Callable[[StatementRunner, int], Awaitable[None]] | None:
        """The :attr:`sent_writes` of ``message`` as one piece of its storing transaction."""
        if not self.sent_writes:
            return None

        async def run_all(run: StatementRunner, profile_id: int) -> None:
            for write in self.sent_writes:
                await write(run, profile_id, profile, message)

        return run_all

    async def on_received(self, client: XmppClient, message: ChatMessage) -> bool:
        """Store and announce a received message.

        :returns: False when it was already in history.
        :raises Database: it could not be stored.
        """
        return await self._store_and_announce(client.profile, message)

    async def on_received_all(self, client: XmppClient, messages: Sequence[ChatMessage], stored: list[bool]) -> None:
        """Store and announce received messages in their order (an archive's page): each run
        of new messages in one transaction, as the live ones waiting together are (a
        catch-up of thousands pays a commit per run, not per message).

        :param stored: gets, for each message stored, whether it was new (False: already
            in history), in order: when one cannot be stored, those before it are there.
        :raises Database: a message could not be stored; those after it were not tried.
        """
        for run in new_message_runs(messages, _same_message):
            together = await self._stored_together(client.profile, run) if len(run) > 1 else None
            if together is None:
                for message in run:
                    stored.append(await self.on_received(client, message))
                continue
            for message, new in zip(run, together):
                stored.append(new)
                # stored with the run already: a failure to announce one costs no other
                await self._guarded((client, message), self._announce_if_new(client.profile, message, new))

    async def history(
        self, from_jid: str, to_jid: str, limit: int, between: bool, filters_json: str, profile: str
    ) -> list[tuple[Any, ...]]:
        query = HistoryQuery.from_bridge(from_jid, to_jid, limit, between, filters_json)
        entries = await self.host.storage.get_history(await self.host.profiles.resolve(profile), query)
        return [history_tuple(entry) for entry in entries]

    async def _store_and_announce(self, profile: str, message: ChatMessage) -> bool:
        if message.change is not None:
            await self.changes.on_received(profile, message)
            return True
        return await self._announce_if_new(
            profile, message, await self.host.storage.add_to_history(profile, entry_to_store(message)))

    async def _announce_if_new(self, profile: str, message: ChatMessage, new: bool) -> bool:
        """Announce a message just stored; one history had already (``new`` false) is not
        announced again. :returns: ``new``."""
        if not new:
            log.debug("%s: message %s already in history", profile, message.stanza_id or message.uid)
            return False
        await self._announce(profile, message)
        return True

    async def _announce(self, profile: str, message: ChatMessage) -> None:
        self.host.bridge.emit("MessageNew", *message.bridge_tuple(), profile)
        await self.changes.apply_pending(profile, message)
        await self.host.triggers.run(ANNOUNCED_TRIGGER, profile, message)
