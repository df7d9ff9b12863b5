"""One call carried between a :class:`~sat_frontends.calls.engine.MediaEngine` and the
backend, through the bridge's call members and signals only (``doc/calls.rst``).

The caller offers (``CallStart``), the callee answers (``CallAnswer``); each trickles its
candidates (``CallCandidatesAdd``) once the backend has a Jingle session for the call:
at once for a call to a full JID, after the answer for a call to a bare JID (XEP-0353:
the session starts when a device proceeds). Everything that happens is an event,
``emit(name, **fields)``, for the frontend to show."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import BridgeError, NotFound
from sat_frontends.calls.engine import MediaEngine
from sat_frontends.calls.ice_servers import fetch_ice_servers
from sat_frontends.calls.sdp_text import bundle_mids, media_kinds

log = logging.getLogger(__name__)

CALL_SIGNALS = ("CallIncoming", "CallProposed", "CallAnswered", "CallCandidates", "CallState")
#: seconds to wait for the backend's "ended" once we hung up
HANG_UP_WAIT = 5.0
#: XEP-0166 reason when the media never connected (ICE or DTLS failed, or too slow)
MEDIA_FAILED_REASON = "failed-transport"
#: XEP-0166 reason when the media engine cannot use the peer's description
INCOMPATIBLE_REASON = "incompatible-parameters"


@dataclass
class CallOptions:
    """How a call is made; see ``sat call --help``."""

    kinds: Sequence[str] = ("audio", "video")
    play: str | None = None
    record: str | None = None
    #: seconds of connected media before we hang up (None: until the peer or the user does)
    duration: float | None = None
    #: seconds from the answer to connected media before we give up
    connect_timeout: float = 30.0
    #: seconds ``answer`` waits for a call (None: forever)
    wait: float | None = None
    #: ``answer`` only: refuse the call instead
    decline: bool = False


@dataclass
class _Timers:
    """Monotonic deadlines of a call in progress (None: not running)."""

    hung_up_at: float | None = None
    #: the media must be connected by then (set when the call becomes active)
    connect_by: float | None = None
    #: hang up then (set when the media connects, with ``--duration``)
    talk_until: float | None = None


@dataclass
class CallResult:
    """How the call went: its sid, whether it was answered, the reason it ended."""

    sid: str = ""
    answered: bool = False
    #: the media connected (ICE and DTLS) at some point: the parties could talk
    connected: bool = False
    reason: str = ""
    interrupted: bool = False
    frames: dict[str, int] = field(default_factory=dict)


class CallDriver:
    """Places or answers one call for ``profile`` (a real profile name: signals carry it).

    ``stop`` (set by Ctrl-C or SIGTERM) hangs up: ``CallEnd`` with the backend's default
    reason (cancel while ringing, success once active, decline for an unanswered incoming
    call)."""

    def __init__(self, client: AsyncBridgeClient, profile: str, options: CallOptions,
                 emit: Callable[..., None], timeout: float) -> None:
        self.client, self.profile, self.options, self.emit = client, profile, options, emit
        self.timeout = timeout
        self.stop = asyncio.Event()
        self.result = CallResult()
        self._signals: asyncio.Queue[tuple[str, tuple[Any, ...]]] = asyncio.Queue()
        self._engine: MediaEngine | None = None
        self._candidates: dict[str, list[str]] = {}
        self._trickled = False
        #: we answered the call (we are its callee)
        self._answered_here = False

    async def subscribe(self) -> None:
        """Listen to the call signals; before any call is made, so none is missed."""
        for name in CALL_SIGNALS:
            await self.client.on_signal(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            if args and args[-1] == self.profile:
                self._signals.put_nowait((name, args[:-1]))
        return record

    # placing ----------------------------------------------------------------------------

    async def place(self, peer: str) -> CallResult:
        """Call ``peer`` (a full JID rings one device, a bare JID every device)."""
        engine = self._engine = await self._new_engine()
        try:
            offer, self._candidates = await engine.offer(self.options.kinds)
            self._describe("offer", offer)
            sid = self.result.sid = await self.client.call_start(peer, offer, self.profile, timeout=self.timeout)
            self.emit("calling", sid=sid, peer=peer, media=media_kinds(offer))
            if "/" in peer:  # a full JID: the Jingle session exists already
                await self._trickle()
            await self._follow()
        finally:
            await self._close()
        return self.result

    # answering --------------------------------------------------------------------------

    async def answer(self, caller: str | None, sid: str | None = None) -> CallResult:
        """Wait for a call (from ``caller``'s bare or full JID if given), or take the
        call ``sid`` ringing already, and answer it, or decline it with ``options.decline``."""
        if not self.options.decline:  # ready before the call comes (and a bad file said at once)
            self._engine = await self._new_engine()
        try:
            self.emit("waiting", profile=self.profile, caller=caller or "")
            incoming = await (self._take_call(sid) if sid else self._wait_for_call(caller))
            if incoming is None:
                return self.result
            sid, peer, offer, media = incoming
            self.result.sid = sid
            self.emit("incoming", sid=sid, peer=peer, media=media, bundle=bundle_mids(offer))
            if self._engine is None:
                await self.client.call_end(sid, "decline", self.profile, timeout=self.timeout)
                await self._follow()
            else:
                await self._answer_with(self._engine, sid, offer)
        finally:
            await self._close()
        return self.result

    async def _answer_with(self, engine: MediaEngine, sid: str, offer: str) -> None:
        """Answer ``offer``, trickle, and follow the call to its end."""
        try:
            answer, self._candidates = await engine.answer(offer)
        except Exception as error:  # aiortc refuses the offer (codecs, transport…): any error type
            await self._refuse(sid, error)
            return
        self._describe("answer", answer)
        try:
            await self.client.call_answer(sid, answer, self.profile, timeout=self.timeout)
        except NotFound:  # the caller gave up meanwhile: its "ended" state is on its way
            await self._follow(hanging_up=True)
            return
        self._answered_here = True
        await self._trickle()
        await self._follow()

    async def _take_call(self, sid: str) -> tuple[str, str, str, list[str]] | None:
        """The call ``sid`` that rang before we started (``CallGet``), as
        :meth:`_wait_for_call` gives one: a proposal is taken and its offer awaited."""
        peer, state, offer, media = await self.client.call_get(sid, self.profile, timeout=self.timeout)
        if state != "proposed" or self.options.decline:
            return sid, peer, offer, list(media)
        self.emit("proposed", sid=sid, peer=peer, media=list(media))
        await self.client.call_answer(sid, "", self.profile, timeout=self.timeout)
        return await self._wait_for_call(None, taken={sid})

    async def _wait_for_call(self, caller: str | None,
                             taken: set[str] | None = None) -> tuple[str, str, str, list[str]] | None:
        """The first call from ``caller``: (sid, full JID, SDP offer, media kinds). A
        XEP-0353 proposal is taken (``CallAnswer(sid, "")``) and its offer awaited, or
        given with an empty offer when declining. None when stopped, after
        ``options.wait`` seconds, or when a proposal we took ended before its offer.

        :param taken: proposals taken already: only their offers are awaited."""
        deadline = None if self.options.wait is None else time.monotonic() + self.options.wait
        only_taken = taken is not None
        taken = set() if taken is None else taken
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            received = await self._next_signal(remaining)
            if received is None:
                if not self.stop.is_set():
                    self.emit("no_call", waited=self.options.wait)
                self.result.interrupted = self.stop.is_set()
                return None
            name, args = received
            if name == "CallProposed" and not only_taken and _from(args[1], caller):
                self.emit("proposed", sid=args[0], peer=args[1], media=list(args[2]))
                if self.options.decline:
                    return args[0], args[1], "", list(args[2])
                try:
                    await self.client.call_answer(args[0], "", self.profile, timeout=self.timeout)
                except NotFound:  # retracted, or taken by another device, meanwhile
                    continue
                taken.add(args[0])
            elif name == "CallIncoming" and (args[0] in taken or (not only_taken and _from(args[1], caller))):
                return args[0], args[1], args[2], list(args[3])
            elif name == "CallState" and args[0] in taken and args[1] == "ended":
                self.result.sid, self.result.reason = args[0], args[2]
                self.emit("state", state=args[1], reason=args[2])
                return None

    # both sides -------------------------------------------------------------------------

    async def _new_engine(self) -> MediaEngine:
        """A media engine with the STUN/TURN servers of our server (XEP-0215), asked
        for each call: TURN credentials are short-lived."""
        found = await fetch_ice_servers(self.client, self.profile, self.timeout)
        if found.servers:
            self.emit("ice_servers", urls=found.urls)
        return MediaEngine(self.emit, play=self.options.play, record=self.options.record, ice_servers=found.servers)

    async def _follow(self, hanging_up: bool = False) -> None:
        """Act on the call's signals until it ends; hang up on ``stop``, after
        ``options.duration`` seconds of connected media, or when the media fails.
        ``hanging_up``: the call is ending already, wait (bounded) for its end."""
        timers = _Timers(hung_up_at=time.monotonic() if hanging_up else None)
        while True:
            now = time.monotonic()
            if timers.hung_up_at is None:
                reason = self._reason_to_hang_up(now, timers)
                if reason is not None:
                    timers.hung_up_at = now
                    await self._hang_up(self.result.sid, reason)
            elif now - timers.hung_up_at > HANG_UP_WAIT:
                self.result.reason = self.result.reason or "no answer from the backend"
                return
            received = await self._next_signal(0.1, watch_stop=timers.hung_up_at is None)
            if received is not None and received[1][0] == self.result.sid \
                    and await self._on_call_signal(*received, timers):
                return

    def _reason_to_hang_up(self, now: float, timers: _Timers) -> str | None:
        """The reason to hang up with now (``""``: the backend's default), or None."""
        state = self._engine.connection_state if self._engine else "new"
        if self.stop.is_set():
            self.result.interrupted = True
            return ""
        if state == "connected":
            if self.options.duration is None:
                return None
            timers.talk_until = timers.talk_until or now + self.options.duration
            return "" if now >= timers.talk_until else None
        if state == "failed" or (timers.connect_by is not None and now >= timers.connect_by):
            return MEDIA_FAILED_REASON
        return None

    async def _on_call_signal(self, name: str, args: tuple[Any, ...], timers: _Timers) -> bool:
        """Act on one signal about our call; True once the call is over."""
        if name == "CallState":
            if args[1] == "ringing" and self._answered_here:
                return False  # announced with the offer, read after we answered: stale
            self.emit("state", state=args[1], reason=args[2])
            if args[1] == "active":
                self.result.answered = True
                timers.connect_by = time.monotonic() + self.options.connect_timeout
            elif args[1] == "ended":
                self.result.reason = args[2]
                return True
        elif name == "CallAnswered" and self._engine is not None:
            self._describe("answered", args[1])
            try:
                await self._engine.accept(args[1])
            except Exception as error:  # aiortc refuses the answer: any error type
                await self._refuse(self.result.sid, error)
                return True
            await self._trickle()
        elif name == "CallCandidates" and self._engine is not None:
            await self._engine.add_remote_candidates(args[1])
        return False

    async def _refuse(self, sid: str, error: Exception) -> None:
        """End a call whose description the media engine cannot use."""
        self.emit("error", message=f"the media engine cannot use the peer's description: {error}"[:300])
        await self._hang_up(sid, INCOMPATIBLE_REASON)
        await self._follow(hanging_up=True)

    async def _hang_up(self, sid: str, reason: str) -> None:
        try:
            await self.client.call_end(sid, reason, self.profile, timeout=self.timeout)
        except NotFound:  # ended meanwhile: its "ended" state is on its way
            pass

    async def _trickle(self) -> None:
        """Send our candidates once: the backend's session for the call exists now."""
        if self._trickled or not self._candidates:
            return
        self._trickled = True
        try:
            await self.client.call_candidates_add(self.result.sid, self._candidates, self.profile, timeout=self.timeout)
        except BridgeError as error:  # the call may have ended meanwhile: its state says why
            log.warning("could not send our candidates: %s", error)

    async def _next_signal(self, timeout: float | None, watch_stop: bool = True) -> tuple[str, tuple[Any, ...]] | None:
        """The next signal, or None after ``timeout`` seconds or on ``stop`` (when
        ``watch_stop``: once we hung up, stop is set for good)."""
        get = asyncio.ensure_future(self._signals.get())
        waiting: set[asyncio.Future[Any]] = {get}
        if watch_stop:
            waiting.add(asyncio.ensure_future(self.stop.wait()))
        done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for future in waiting - {get}:
            future.cancel()
        if get in done:
            return get.result()
        get.cancel()
        return None

    def _describe(self, what: str, sdp: str) -> None:
        self.emit(what, media=media_kinds(sdp), bundle=bundle_mids(sdp))

    async def _close(self) -> None:
        if self._engine is not None:
            self.result.frames = self._engine.sinks.frame_counts()
            self.result.connected = self._engine.was_connected
            await self._engine.close()


def _from(peer: str, wanted: str | None) -> bool:
    """True when ``peer`` (a full JID) is ``wanted`` (bare or full), or anyone for None."""
    if not wanted:
        return True
    return peer == wanted or peer.split("/", 1)[0] == wanted
