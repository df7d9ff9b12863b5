"""The state of the rooms a profile is in, and what each occupant presence changes in it.

:func:`apply_presence` is pure (no stream, no bridge): it updates a :class:`Room` and
returns the :class:`RoomEvent` list the plugin announces, so the rules of XEP-0045 §7
(self-presence, nick changes, removals) are tested without a server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import BridgeError, Conflict, InvalidArgument, NotFound, PermissionDenied, Stanza
from sat_backend.plugins.muc.stanzas import (
    LEAVE_REASONS,
    STATUS_CREATED,
    STATUS_NICK_CHANGED,
    Occupant,
    OccupantPresence,
    RoomError,
)

log = logging.getLogger(__name__)

#: occupants kept per room: more than the largest public rooms hold; the rest is logged
MAX_OCCUPANTS = 10_000

JOINING = "joining"
JOINED = "joined"


class RoomRefused(Exception):
    """The room answered a request of ours (entering, nick change, subject) with an error."""

    def __init__(self, refusal: RoomError) -> None:
        super().__init__(refusal.describe())
        self.error = refusal


@dataclass
class Room:
    """A room we are in, or entering (again, after a reconnection)."""

    jid: JID
    nick: str
    password: str | None = field(default=None, repr=False)
    state: str = JOINING
    occupants: dict[str, Occupant] = field(default_factory=dict)
    subject: dict[str, str] = field(default_factory=dict)
    subject_by: str = ""
    #: the room advertises XEP-0359: its stanza-ids (``by`` = the room) can be trusted
    stanza_ids: bool = False
    #: the room advertises XEP-0421: the occupant-ids in its stanzas are its own (authors)
    occupant_ids: bool = False
    #: the XEP-0425 namespace the room speaks (message moderation), when it does
    moderation: str | None = None
    created: bool = False
    #: new nicks announced by a status 303, whose available presence is not a new occupant
    renaming: set[str] = field(default_factory=set)
    #: the whole entry in progress (nick retries, configuration), for concurrent ``MucJoin``
    attempt: asyncio.Future[str] | None = None
    #: resolved with our nick when the room accepts us, failed with a :class:`RoomError`
    entering: asyncio.Future[str] | None = None
    #: resolved with our new nick when the room confirms a nick change (§7.6)
    nick_change: asyncio.Future[str] | None = None
    #: resolved with the reason when our own unavailable presence comes back (we left)
    leaving: asyncio.Future[str] | None = None

    @property
    def occupant_jid(self) -> JID:
        return JID(tuple=(self.jid.user, self.jid.host, self.nick))

    def pending(self) -> list[asyncio.Future[str]]:
        """The requests waiting for the room's answer (entering, nick change, leaving)."""
        return [future for future in (self.entering, self.nick_change, self.leaving)
                if future is not None and not future.done()]

    def fail_pending(self, failure: Exception) -> None:
        for future in self.pending():
            future.set_exception(failure)

    def forget_occupants(self) -> None:
        self.occupants.clear()
        self.renaming.clear()


@dataclass(frozen=True)
class RoomEvent:
    """Something a presence changed, for the bridge.

    :param kind: ``joined`` (we entered), ``left`` (we are out: ``reason``), ``occupant``
        (``change`` of ``occupant``: ``joined``, ``left``, ``updated``, ``nick``, ``kicked``,
        ``banned``, ``removed``).
    """

    kind: str
    occupant: Occupant | None = None
    change: str = ""
    reason: str = ""
    text: str = ""
    new_nick: str | None = None


def apply_presence(room: Room, presence: OccupantPresence) -> list[RoomEvent]:
    """Update ``room`` with an occupant's presence; the events to announce."""
    occupant = presence.occupant
    if _is_self(room, presence):
        return _apply_own(room, presence)
    if not presence.available:
        room.occupants.pop(occupant.nick, None)
        if presence.new_nick is not None:
            room.renaming.add(presence.new_nick)
            return _if_joined(room, RoomEvent("occupant", occupant, "nick", new_nick=presence.new_nick))
        change = LEAVE_REASONS.get(min(presence.codes & set(LEAVE_REASONS), default=0), "left")
        return _if_joined(room, RoomEvent("occupant", occupant, change, text=presence.reason))
    known = occupant.nick in room.occupants
    if not known and len(room.occupants) >= MAX_OCCUPANTS:
        log.warning("%s has more than %d occupants: %s not kept", room.jid.userhost(), MAX_OCCUPANTS, occupant.nick)
        return []
    room.occupants[occupant.nick] = occupant
    if occupant.nick in room.renaming:
        room.renaming.discard(occupant.nick)
        return _if_joined(room, RoomEvent("occupant", occupant, "updated"))
    return _if_joined(room, RoomEvent("occupant", occupant, "updated" if known else "joined"))


def _is_self(room: Room, presence: OccupantPresence) -> bool:
    """Status 110 says so (§7.2.3); a room that omits it is recognised by our nick while
    we enter (§7.2.3 made 110 mandatory only in later versions)."""
    return presence.is_self or (room.state == JOINING and presence.occupant.nick == room.nick)


def _apply_own(room: Room, presence: OccupantPresence) -> list[RoomEvent]:
    occupant = presence.occupant
    if presence.available:
        room.occupants[occupant.nick] = occupant
        room.renaming.discard(occupant.nick)
        room.nick = occupant.nick  # the room may give another nick (status 210)
        if room.state == JOINING:
            room.state = JOINED
            room.created = STATUS_CREATED in presence.codes
            if room.entering is not None and not room.entering.done():
                room.entering.set_result(occupant.nick)
            return [RoomEvent("joined", occupant)]
        if room.nick_change is not None and not room.nick_change.done():
            room.nick_change.set_result(occupant.nick)
        return [RoomEvent("occupant", occupant, "updated")]
    room.occupants.pop(occupant.nick, None)
    if STATUS_NICK_CHANGED in presence.codes and presence.new_nick is not None:
        room.nick = presence.new_nick
        room.renaming.add(presence.new_nick)
        return [RoomEvent("occupant", occupant, "nick", new_nick=presence.new_nick)]
    reason = "destroyed" if presence.destroyed else LEAVE_REASONS.get(
        min(presence.codes & set(LEAVE_REASONS), default=0), "left")
    if room.leaving is not None and not room.leaving.done():
        room.leaving.set_result(reason)
    return [RoomEvent("left", occupant, reason=reason, text=presence.reason)]


def _if_joined(room: Room, event: RoomEvent) -> list[RoomEvent]:
    """Occupants' changes are announced once we are in: before, they are the room's
    initial list (§7.2.3), which ``MucOccupantsGet`` gives after ``MucRoomJoined``."""
    return [event] if room.state == JOINED else []


#: what a room's refusal to let us in (or change nick) means, and the error it becomes
_REFUSALS: dict[str, tuple[type[BridgeError], str]] = {
    "conflict": (Conflict, "that nick is already used in the room"),
    "not-authorized": (PermissionDenied, "the room needs a password, or the one given is wrong"),
    "forbidden": (PermissionDenied, "we are banned from the room"),
    "registration-required": (PermissionDenied, "the room is for its members only"),
    "not-allowed": (PermissionDenied, "the service does not let us create this room"),
    "item-not-found": (NotFound, "the room does not exist (or is locked until its owner configures it)"),
    "not-acceptable": (InvalidArgument, "the room does not accept that nick"),
    "jid-malformed": (InvalidArgument, "the room did not accept that nick"),
    "service-unavailable": (Stanza, "the room is full"),
}


def refusal_error(room: JID, refusal: RoomError) -> BridgeError:
    """The bridge error for a room's ``type='error'`` answer; the message starts with the
    RFC 6120 condition (as ``Stanza`` errors do) and says what it means."""
    kind, meaning = _REFUSALS.get(refusal.condition, (Stanza, "the room refused"))
    text = f" ({refusal.text[:200]})" if refusal.text else ""
    return kind(f"{refusal.condition}: {room.userhost()}: {meaning}{text}")


def suffixed_nicks(nick: str, attempts: int) -> list[str]:
    """The nicks tried in turn when ``nick`` is taken: ``nick``, ``nick_2``, ``nick_3``…"""
    return [nick] + [f"{nick}_{number}" for number in range(2, attempts + 1)]
