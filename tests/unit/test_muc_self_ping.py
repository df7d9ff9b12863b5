"""XEP-0410 self-ping, without a server: what an answer means, and the timers (driven
by ``task.Clock``, never the wall clock)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.internet.task import Clock
from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import BridgeError, Conflict, NotFound, PermissionDenied, Stanza, Timeout
from sat_backend.plugins.muc.rooms import JOINED, JOINING, Room
from sat_backend.plugins.muc.self_ping import (
    NOT_IN, REJOIN_MAX_DELAY, RETRY_AFTER, STILL_IN, UNDECIDED, SelfPing, transient, verdict,
)

ROOM = "room@chat.localhost"


@pytest.mark.parametrize(("condition", "by", "expected"), [
    (None, None, STILL_IN),                                          # a result
    ("service-unavailable", None, STILL_IN),                         # a client of ours without ping
    ("feature-not-implemented", ROOM, STILL_IN),
    ("item-not-found", ROOM, STILL_IN),                              # our nick changed meanwhile (§4)
    ("item-not-found", None, STILL_IN),
    ("item-not-found", "chat.localhost", NOT_IN),                    # the service: no such room now
    ("not-acceptable", ROOM, NOT_IN),                                # the recommended "not in"
    ("not-allowed", None, NOT_IN),
    ("bad-request", None, NOT_IN),
    ("remote-server-not-found", "localhost", UNDECIDED),             # unreachable: no decision
    ("remote-server-timeout", None, UNDECIDED),
])
def test_what_an_answer_means(condition: str | None, by: str | None, expected: str) -> None:
    assert verdict(condition, by, "chat.localhost") == expected


class FakeParams:
    def __init__(self, interval: int) -> None:
        self.interval = interval

    async def get_public(self, category: str, name: str, profile: str) -> str:
        assert (category, name) == ("MUC", "SelfPingInterval")
        return str(self.interval)


class Harness:
    """A SelfPing whose pings answer from a list, on a fake clock; its rejoins end as
    ``outcomes`` says (an error raised, or None: in)."""

    def __init__(self, interval: int = 900) -> None:
        self.clock = Clock()
        self.client = SimpleNamespace(profile="alice", is_connected=True)
        self.entered: list[str] = []
        self.entered_at: list[float] = []
        self.outcomes: list[BridgeError | None] = []
        self.failed: list[tuple[str, BridgeError]] = []
        self.answers: list[str] = []
        self.pings = 0
        host = SimpleNamespace(params=FakeParams(interval),
                               sessions=SimpleNamespace(get_client=lambda profile: self.client))
        self.rooms: dict[str, Room] = {}
        plugin = SimpleNamespace(host=host, rejoin=self._rejoin, keep_listed=self._keep_listed,
                                 entry_failed=self._entry_failed, room_of=lambda profile, bare: self.rooms.get(bare))
        self.self_ping = SelfPing(plugin, lambda: self.clock)  # type: ignore[arg-type]
        self.self_ping._ping = self._ping  # type: ignore[method-assign]
        self.room = self.add_room(ROOM)

    def add_room(self, bare: str) -> Room:
        room = self.rooms[bare] = Room(JID(bare), "alice", state=JOINED)
        return room

    async def _rejoin(self, client: Any, room: Room) -> None:
        """As the plugin's: a failed entry drops the room from the list."""
        self.entered.append(room.jid.userhost())
        self.entered_at.append(self.clock.seconds())
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            del self.rooms[room.jid.userhost()]
            raise outcome

    def _keep_listed(self, profile: str, room: Room) -> bool:
        listed = self.rooms.setdefault(room.jid.userhost(), room)
        room.state = JOINING
        return listed is room

    async def _entry_failed(self, profile: str, bare: str, failure: BridgeError) -> None:
        self.failed.append((bare, failure))

    async def _ping(self, profile: str, room: Room) -> str:
        self.pings += 1
        return self.answers.pop(0)

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        for _ in range(5):          # let the background check run
            await asyncio.sleep(0)

    async def step(self, seconds: float, step: float) -> None:
        """Advance ``seconds`` by steps: a timer set while advancing fires on time."""
        for _ in range(int(seconds // step)):
            await self.advance(step)


def run(test: Any) -> None:
    asyncio.run(test())


def test_a_silent_room_is_pinged_and_activity_delays_it() -> None:
    async def scenario() -> None:
        harness = Harness()
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        await harness.advance(500)
        harness.self_ping.note_activity("alice", ROOM)                 # the room spoke at t=500
        await harness.advance(400)
        assert harness.pings == 0                                      # silent for 400 s only
        harness.answers.append(STILL_IN)
        await harness.advance(500)
        assert harness.pings == 1 and harness.entered == []
        harness.answers.append(STILL_IN)
        await harness.advance(900)
        assert harness.pings == 2 and harness.entered == []
        assert len(harness.clock.getDelayedCalls()) == 1               # one timer, never more
    run(scenario)


def test_no_verdict_is_tried_again_sooner_and_not_in_enters_again() -> None:
    async def scenario() -> None:
        harness = Harness()
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        harness.answers += [UNDECIDED, NOT_IN]
        await harness.advance(900)
        assert harness.pings == 1 and harness.entered == []
        await harness.advance(RETRY_AFTER)
        assert harness.pings == 2 and harness.entered == [ROOM]
        assert harness.room.state == JOINING
        assert len(harness.self_ping) == 0 and harness.clock.getDelayedCalls() == []   # the new entry watches again
    run(scenario)


def test_timers_go_with_the_room_and_the_session() -> None:
    async def scenario() -> None:
        harness = Harness()
        other = harness.add_room("other@chat.localhost")
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        await harness.self_ping.watch(harness.client, other)          # type: ignore[arg-type]
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]  # entered again
        assert len(harness.clock.getDelayedCalls()) == 2
        harness.self_ping.forget("alice", ROOM)
        assert len(harness.clock.getDelayedCalls()) == 1
        harness.self_ping.forget_profile("alice")
        assert harness.clock.getDelayedCalls() == [] and len(harness.self_ping) == 0
        await harness.advance(10_000)
        assert harness.pings == 0
    run(scenario)


def test_a_check_that_ends_after_the_room_was_left_does_nothing() -> None:
    async def scenario() -> None:
        harness = Harness()
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        waiting: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def slow_ping(profile: str, room: Room) -> str:
            harness.pings += 1
            return await waiting

        harness.self_ping._ping = slow_ping  # type: ignore[method-assign]
        await harness.advance(900)
        assert harness.pings == 1
        harness.self_ping.forget("alice", ROOM)                        # MucLeave while the ping waits
        waiting.set_result(NOT_IN)
        await harness.advance(0)
        assert harness.entered == [] and harness.clock.getDelayedCalls() == []
    run(scenario)


def test_no_ping_while_off_or_during_a_nick_change() -> None:
    async def scenario() -> None:
        harness = Harness(interval=0)
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        assert harness.clock.getDelayedCalls() == []                   # 0: self-ping off

        harness = Harness(interval=60)
        harness.room.nick_change = asyncio.get_running_loop().create_future()
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        await harness.advance(60)
        assert harness.pings == 0 and len(harness.clock.getDelayedCalls()) == 1   # tried again later
        harness.room.nick_change.set_result("alice2")
        harness.answers.append(STILL_IN)
        await harness.advance(RETRY_AFTER)
        assert harness.pings == 1
        harness.self_ping.forget_profile("alice")
    run(scenario)


def test_a_room_left_without_its_timer_cancelled_is_not_pinged() -> None:
    """A room left while its watch was starting (the param read) is never pinged."""
    async def scenario() -> None:
        harness = Harness()
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        del harness.rooms[ROOM]                                        # left, the timer still set
        await harness.advance(900)
        assert harness.pings == 0 and len(harness.self_ping) == 0 and harness.clock.getDelayedCalls() == []
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        assert harness.clock.getDelayedCalls() == []
    run(scenario)


@pytest.mark.parametrize(("answer", "expected"), [
    ("<error type='cancel' by='chat.localhost'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
     NOT_IN),
    (f"<error type='cancel' by='{ROOM}'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
     STILL_IN),
    ("<error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>", NOT_IN),
    ("<error type='wait'><remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>", UNDECIDED),
])
def test_the_error_answer_is_read_with_its_by(
    monkeypatch: pytest.MonkeyPatch, answer: str, expected: str,
) -> None:
    """The answer of the room (or of its service) as the stream gives it: an error IQ."""
    from twisted.words.protocols.jabber.error import exceptionFromStanza
    from tx_xmpp.generic import parseXml

    from sat_backend.plugins.muc import self_ping

    iq = parseXml(f"<iq xmlns='jabber:client' type='error' from='{ROOM}/alice' id='p1'>{answer}</iq>".encode())

    async def refuse(request: Any) -> None:
        raise exceptionFromStanza(iq)

    harness = Harness()
    harness.self_ping.plugin.host.sessions.answer = refuse  # type: ignore[attr-defined]
    monkeypatch.setattr(self_ping, "ping_request", lambda client, room: SimpleNamespace(send=lambda: None))
    assert asyncio.run(SelfPing._ping(harness.self_ping, "alice", harness.room)) == expected


# entering again, and again -------------------------------------------------------------

UNREACHABLE = Stanza("remote-server-not-found: room@chat.localhost: the room refused")
FULL = Stanza("service-unavailable: room@chat.localhost: the room is full")
NO_ANSWER = Timeout("room@chat.localhost did not let us in within 30 s")


@pytest.mark.parametrize(("failure", "expected"), [
    (UNREACHABLE, True),
    (Stanza("remote-server-timeout: chat.localhost did not answer"), True),
    (FULL, True),
    (NO_ANSWER, True),
    (PermissionDenied("forbidden: room@chat.localhost: we are banned from the room"), False),
    (PermissionDenied("registration-required: room@chat.localhost: the room is for its members only"), False),
    (NotFound("item-not-found: room@chat.localhost: the room does not exist"), False),
    (Conflict("conflict: room@chat.localhost: that nick is already used in the room"), False),
    (Stanza("internal-server-error: room@chat.localhost: the room refused"), False),
])
def test_which_failures_are_tried_again(failure: BridgeError, expected: bool) -> None:
    assert transient(failure) is expected


async def forgotten(harness: Harness, *outcomes: BridgeError | None) -> None:
    """Watch the room, then let a self-ping find that it forgot us (rejoin outcomes queued)."""
    harness.outcomes += outcomes
    await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
    harness.answers.append(NOT_IN)
    await harness.advance(900)
    assert harness.entered == [ROOM]


def test_a_rejoin_that_fails_for_a_while_is_tried_again_ever_later() -> None:
    async def scenario() -> None:
        harness = Harness()
        await forgotten(harness, UNREACHABLE, NO_ANSWER, FULL, None)
        assert harness.rooms[ROOM] is harness.room and harness.room.state == JOINING   # still listed
        await harness.advance(RETRY_AFTER - 1)
        assert len(harness.entered) == 1
        await harness.step(7 * RETRY_AFTER, 1)
        assert [later - sooner for sooner, later in zip(harness.entered_at, harness.entered_at[1:])] == [
            RETRY_AFTER, 2 * RETRY_AFTER, 4 * RETRY_AFTER]
        assert harness.failed == [] and len(harness.self_ping) == 0 and harness.clock.getDelayedCalls() == []
    run(scenario)


def test_the_wait_between_rejoins_is_capped_and_starts_at_the_interval() -> None:
    async def scenario() -> None:
        harness = Harness()
        await forgotten(harness, *[NO_ANSWER] * 9)
        await harness.step(9 * REJOIN_MAX_DELAY, 10)
        waits = [later - sooner for sooner, later in zip(harness.entered_at, harness.entered_at[1:])]
        assert waits == [60, 120, 240, 480, 900, 900, 900, 900, 900]
        harness.self_ping.forget_profile("alice")

        harness = Harness(interval=5)                                  # a short interval: sooner
        harness.outcomes += [NO_ANSWER, NO_ANSWER]
        await harness.self_ping.watch(harness.client, harness.room)  # type: ignore[arg-type]
        harness.answers.append(NOT_IN)
        await harness.step(30, 1)
        assert harness.entered_at == [5, 10, 20]
    run(scenario)


def test_a_definitive_refusal_ends_the_rejoins() -> None:
    async def scenario() -> None:
        harness = Harness()
        banned = PermissionDenied("forbidden: room@chat.localhost: we are banned from the room")
        await forgotten(harness, FULL, banned)
        await harness.advance(RETRY_AFTER)
        assert len(harness.entered) == 2 and harness.failed == [(ROOM, banned)]   # MucRoomLeft "error"
        assert ROOM not in harness.rooms
        await harness.advance(REJOIN_MAX_DELAY * 2)
        assert len(harness.entered) == 2 and harness.clock.getDelayedCalls() == [] and len(harness.self_ping) == 0
    run(scenario)


@pytest.mark.parametrize("stop", ["leave", "stream lost"])
def test_leaving_or_losing_the_stream_ends_the_rejoins(stop: str) -> None:
    async def scenario() -> None:
        harness = Harness()
        await forgotten(harness, UNREACHABLE)
        if stop == "leave":
            harness.self_ping.forget("alice", ROOM)                    # MucLeave
        else:
            harness.self_ping.forget_profile("alice")                  # on_stream_lost
        await harness.advance(REJOIN_MAX_DELAY * 2)
        assert harness.entered == [ROOM] and harness.failed == []
        assert harness.clock.getDelayedCalls() == [] and len(harness.self_ping) == 0
    run(scenario)


def test_a_rejoin_failing_after_the_room_was_left_is_not_tried_again() -> None:
    async def scenario() -> None:
        harness = Harness()
        entering: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def slow_rejoin(client: Any, room: Room) -> None:
            harness.entered.append(room.jid.userhost())
            await entering

        harness.self_ping.plugin.rejoin = slow_rejoin  # type: ignore[attr-defined]
        await forgotten(harness)
        harness.self_ping.forget("alice", ROOM)                        # MucLeave during the entry
        entering.set_exception(NO_ANSWER)
        await harness.advance(REJOIN_MAX_DELAY)
        assert harness.entered == [ROOM] and harness.failed == [] and harness.clock.getDelayedCalls() == []
    run(scenario)


def test_another_entry_of_the_room_takes_over_from_the_rejoins() -> None:
    async def scenario() -> None:
        harness = Harness()
        await forgotten(harness, UNREACHABLE)
        del harness.rooms[ROOM]                                        # a MucJoin that failed, meanwhile
        await harness.advance(RETRY_AFTER)
        assert harness.entered == [ROOM] and len(harness.self_ping) == 0

        harness = Harness()
        await forgotten(harness, UNREACHABLE)
        harness.rooms[ROOM] = Room(JID(ROOM), "alice", state=JOINING)  # a MucJoin being entered
        await harness.advance(RETRY_AFTER)
        assert harness.entered == [ROOM] and len(harness.self_ping) == 0 and harness.failed == []
    run(scenario)


@pytest.mark.parametrize(("failure", "expected"), [
    ("remote-server-not-found: chat.example did not answer", Stanza),     # unreachable: says nothing
    ("remote-server-timeout: chat.example did not answer", Stanza),
    ("forbidden: not for you", NotFound),                                 # an answer: not a room
])
def test_an_unreachable_room_is_not_taken_for_no_room(failure: str, expected: type[BridgeError]) -> None:
    """Entering again a room whose server cannot be reached must fail as transient, not
    as ``NotFound`` (which forgets the room for good)."""
    from sat_backend.plugins.muc.service_discovery import room_features

    async def get_info(client: Any, jid: JID) -> Any:
        raise Stanza(failure)

    host = SimpleNamespace(plugins={"XEP-0030": SimpleNamespace(get_info=get_info)})
    with pytest.raises(expected) as raised:
        asyncio.run(room_features(host, SimpleNamespace(), JID(ROOM)))  # type: ignore[arg-type]
    assert transient(raised.value) is (expected is Stanza)
