"""XEP-0410 MUC Self-Ping (v1.1.0): notice that a room forgot us, and enter it again.

A room service restarted, or a link to it cut for a while, drops its occupants without
telling them (§3): the room just looks silent. So after ``MUC/SelfPingInterval`` seconds
without any stanza from a room we are in, we ping our own occupant JID (XEP-0199) and
read the answer as §3.2 says:

* a result, ``service-unavailable`` or ``feature-not-implemented`` (a client of ours that
  does not answer pings, when the room reflects the ping): still in;
* ``item-not-found`` from the room: still in, our nick just changed (another client of
  the same account, §4); from the service itself (the room does not exist any more, as
  Prosody answers): not in;
* ``remote-server-not-found``, ``remote-server-timeout``, or no answer at all: the room
  cannot be reached; nothing is decided, the ping is tried again after
  ``RETRY_AFTER`` seconds (a rejoin would fail the same way);
* any other error (``not-acceptable`` is the recommended one): not in; the room is
  entered again the way a reconnection does it: ``MucRoomJoined`` once in, and the
  messages missed read from the room's archive or discussion history.

A rejoin that fails for a reason that may pass (:func:`transient`: the room's server
unreachable, the room full or its service unavailable, no answer) is tried again after
``min(RETRY_AFTER, interval)`` seconds, then twice as long each time up to
``REJOIN_MAX_DELAY``; the room stays listed as ``joining`` meanwhile. A definitive refusal
ends it with ``MucRoomLeft(room, "error", …)``, as a failed entry at login does.

There is no ping while we wait for a nick change (§4) and none without a session
(XEP-0198 hibernation counts as none): timers belong to one session and are cancelled
when the room is left, the stream lost (which includes ``ProfileDelete`` and the
backend's shutdown) or the room entered again; so are the rejoin's retries. The clock
is the reactor's (``callLater``/``seconds``), so unit tests drive it with ``task.Clock``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from twisted.words.protocols.jabber import error

from sat_backend.core.exceptions import BridgeError, ProfileNotConnected, Stanza, Timeout
from sat_backend.core.im.background import run_in_background
from sat_backend.core.params import ParamDefinition
from sat_backend.core.sessions import new_iq
from sat_backend.plugins.muc.rooms import JOINED, JOINING
from sat_backend.plugins.muc.service_discovery import UNREACHABLE, condition_of

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.muc.rooms import Room
    from sat_backend.plugins.plugin_xep_0045 import GroupChats

log = logging.getLogger(__name__)

NS_PING = "urn:xmpp:ping"
#: §3.2 "e.g. 15 minutes", as Conversations and Gajim do
DEFAULT_INTERVAL = 900
#: seconds before a ping that got no verdict (room unreachable, no answer) is sent again
RETRY_AFTER = 60
#: the longest wait between two attempts to enter again a room that forgot us
REJOIN_MAX_DELAY = 900
INTERVAL_PARAM = ParamDefinition(
    "MUC", "SelfPingInterval", "int", str(DEFAULT_INTERVAL),
    "Seconds of silence from a room before checking that we are still in it (XEP-0410; 0: never)",
    minimum=0, maximum=86_400,
)

STILL_IN = "joined"
NOT_IN = "not-joined"
UNDECIDED = "undecided"
#: §3.2: the room let the ping through to a client of ours that does not answer pings
_ANSWERED_BY_A_CLIENT = frozenset({"service-unavailable", "feature-not-implemented"})
#: entry refusals that may pass: worth trying again (``service-unavailable``: the room is
#: full, or its service is down)
TRANSIENT_REFUSALS = UNREACHABLE | {"service-unavailable"}

#: (profile, room bare JID)
RoomKey = tuple[str, str]


def verdict(condition: str | None, by: str | None, room_service: str) -> str:
    """What a self-ping answer says: :data:`STILL_IN`, :data:`NOT_IN` or :data:`UNDECIDED`.

    :param condition: the error condition, None for a result.
    :param by: the error's ``by`` attribute (XEP-0410 v0.3: who generated it).
    :param room_service: the domain of the room's JID.
    """
    if condition is None or condition in _ANSWERED_BY_A_CLIENT:
        return STILL_IN
    if condition in UNREACHABLE:  # the answer says nothing of our presence
        return UNDECIDED
    if condition == "item-not-found":
        return NOT_IN if by == room_service else STILL_IN
    return NOT_IN


def transient(failure: BridgeError) -> bool:
    """An entry failure that says nothing of whether the room would let us in later (no
    answer, the room unreachable, full or its service down): worth trying again."""
    if isinstance(failure, Timeout):
        return True
    return isinstance(failure, Stanza) and condition_of(failure) in TRANSIENT_REFUSALS


def ping_request(client: XmppClient, room: Room) -> Any:
    """The IQ of §3.2, to our occupant JID (sent by the caller)."""
    iq = new_iq(client, "get")
    iq["to"] = room.occupant_jid.full()
    iq.addElement((NS_PING, "ping"))
    return iq


@dataclass
class _Watch:
    """The self-ping state of one joined room."""

    room: Room
    interval: float
    last_activity: float
    timer: Any = None


@dataclass
class _Rejoin:
    """A room that forgot us, being entered again (or waiting to be tried again)."""

    room: Room
    #: the wait after the next transient failure
    delay: float
    timer: Any = None


class SelfPing:
    """One timer per joined room, pushed back by the room's own activity."""

    def __init__(self, plugin: GroupChats, reactor: Callable[[], Any]) -> None:
        """:param reactor: gives the reactor (looked up when a timer starts: the launcher
            installs it after plugins are built)."""
        self.plugin = plugin
        self._reactor = reactor
        self._watches: dict[RoomKey, _Watch] = {}
        self._rejoins: dict[RoomKey, _Rejoin] = {}

    def register(self) -> None:
        self.plugin.host.params_registry.declare(INTERVAL_PARAM)

    async def watch(self, client: XmppClient, room: Room) -> None:
        """Start checking ``room`` (just entered) after the profile's interval of silence."""
        interval = int(await self.plugin.host.params.get_public("MUC", "SelfPingInterval", client.profile))
        key = (client.profile, room.jid.userhost())
        self.forget(*key)
        if interval <= 0 or not self._still_ours(client.profile, room) or not client.is_connected:
            return  # off, or left (or lost) while the param was read
        watch = self._watches[key] = _Watch(room, interval, self._now())
        self._schedule(key, watch, interval)

    def note_activity(self, profile: str, room_jid: str) -> None:
        """A stanza came from the room: it is not silent (the timer is only moved when it fires)."""
        watch = self._watches.get((profile, room_jid))
        if watch is not None:
            watch.last_activity = self._now()

    def forget(self, profile: str, room_jid: str) -> None:
        """No more checks nor rejoins of this room (left, or entered again: a new watch follows)."""
        for timers in (self._watches, self._rejoins):
            state = timers.pop((profile, room_jid), None)
            if state is not None:
                _cancel(state)

    def forget_profile(self, profile: str) -> None:
        """The session is gone: no timer of its rooms may fire."""
        for timers in (self._watches, self._rejoins):
            for key in [key for key in timers if key[0] == profile]:
                _cancel(timers.pop(key))

    def __len__(self) -> int:
        return len(self._watches) + len(self._rejoins)

    # the timers --------------------------------------------------------------------------

    def _still_ours(self, profile: str, room: Room) -> bool:
        """The room is the one we are in (not left, not replaced by a new entry)."""
        return room.state == JOINED and self.plugin.room_of(profile, room.jid.userhost()) is room

    def _now(self) -> float:
        return float(self._reactor().seconds())

    def _schedule(self, key: RoomKey, watch: _Watch, delay: float) -> None:
        watch.timer = self._reactor().callLater(max(delay, 0.0), self._on_timer, key, watch)

    def _on_timer(self, key: RoomKey, watch: _Watch) -> None:
        watch.timer = None
        if self._watches.get(key) is not watch:
            return
        if not self._still_ours(key[0], watch.room):
            del self._watches[key]
            return
        silent_for = self._now() - watch.last_activity
        if silent_for < watch.interval:
            self._schedule(key, watch, watch.interval - silent_for)
            return
        run_in_background(self._check(key, watch), f"{key[0]}: self-ping of {key[1]}", key[0])

    async def _check(self, key: RoomKey, watch: _Watch) -> None:
        profile, bare = key
        room = watch.room
        if room.nick_change is not None and not room.nick_change.done():
            result = UNDECIDED  # §4: the nick to ping is not known yet
        else:
            result = await self._ping(profile, room)
        if self._watches.get(key) is not watch:
            return  # left, lost or entered again meanwhile
        if result == NOT_IN:
            log.warning("%s: %s no longer counts us as an occupant (XEP-0410 self-ping): entering it again",
                        profile, bare)
            del self._watches[key]
            rejoin = self._rejoins[key] = _Rejoin(room, min(RETRY_AFTER, watch.interval))
            self._start_rejoin(key, rejoin)
            return
        log.info("%s: self-ping of %s: %s", profile, bare, result)
        if result == STILL_IN:
            watch.last_activity = self._now()
            self._schedule(key, watch, watch.interval)
        else:  # the silence goes on: the next timer pings at once
            self._schedule(key, watch, min(RETRY_AFTER, watch.interval))

    async def _ping(self, profile: str, room: Room) -> str:
        client = self.plugin.host.sessions.get_client(profile)
        try:
            await self.plugin.host.sessions.answer(ping_request(client, room).send())
        except error.StanzaError as refused:
            stanza = getattr(refused, "stanza", None)  # set by exceptionFromStanza
            element = None if stanza is None else next(
                (child for child in stanza.elements() if child.name == "error"), None)
            by = element.getAttribute("by") if element is not None else None
            log.info("%s: self-ping of %s answered %s (by %.200s)", profile, room.jid.userhost(), refused.condition, by)
            return verdict(refused.condition, by, room.jid.host)
        except Timeout:
            log.info("%s: self-ping of %s got no answer: tried again later", profile, room.jid.userhost())
            return UNDECIDED
        return STILL_IN

    # entering again ----------------------------------------------------------------------

    def _start_rejoin(self, key: RoomKey, rejoin: _Rejoin) -> None:
        rejoin.timer = None
        if self._rejoins.get(key) is not rejoin:
            return
        if self.plugin.room_of(key[0], key[1]) is not rejoin.room:
            del self._rejoins[key]  # another entry of the room (a MucJoin) took over, or failed
        else:
            run_in_background(self._rejoin(key, rejoin), f"{key[0]}: entering {key[1]} again", key[0])

    async def _rejoin(self, key: RoomKey, rejoin: _Rejoin) -> None:
        """Enter the room the way a new session does; try again later when that fails
        for a reason that may pass, as long as nothing else decided for the room."""
        profile, bare = key
        room = rejoin.room
        try:
            client = self.plugin.host.sessions.get_client(profile)
        except ProfileNotConnected:
            del self._rejoins[key]
            return  # the next session enters it
        room.state = JOINING
        room.forget_occupants()
        try:
            await self.plugin.rejoin(client, room)
        except BridgeError as failure:
            if self._rejoins.get(key) is not rejoin:
                return  # left, lost or entered again meanwhile: that is what the room is now
            if not transient(failure):
                del self._rejoins[key]
                await self.plugin.entry_failed(profile, bare, failure)
                return
            if not self.plugin.keep_listed(profile, room):
                del self._rejoins[key]  # another entry took its place
                return
            log.warning("%s: cannot enter %s again now (%s): trying again in %g s", profile, bare, failure,
                        rejoin.delay)
            rejoin.timer = self._reactor().callLater(rejoin.delay, self._start_rejoin, key, rejoin)
            rejoin.delay = min(rejoin.delay * 2, REJOIN_MAX_DELAY)
            return
        if self._rejoins.get(key) is rejoin:
            del self._rejoins[key]  # in: the entry watches it again


def _cancel(state: _Watch | _Rejoin) -> None:
    if state.timer is not None and state.timer.active():
        state.timer.cancel()
    state.timer = None
