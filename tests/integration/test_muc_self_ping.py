"""XEP-0410 self-ping on real servers: a room that forgot us is entered again, one that
answers is left alone. The interval is set small through the ``MUC/SelfPingInterval``
param (what is measured is the server's answer, never the time it took)."""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.prosody import ProsodyServer, _lua_string
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.muc_helpers import MUC_SIGNALS, joined, new_room, peer_joins, peer_says, room_message
from tests.integration.xmpp_helpers import create_xmpp_profile

pytestmark = pytest.mark.ejabberd

#: seconds of silence before a self-ping, in these tests
INTERVAL = "1"
#: bounded wait for what the backend logs
LOG_TIMEOUT = 20.0


@pytest.fixture
def alice(backend: BackendProcess, xmpp_server: XmppServer) -> Iterator[tuple[BridgeClient, SignalRecorder]]:
    """Profile alice with a one-second self-ping interval, connected."""
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, *MUC_SIGNALS)
    create_xmpp_profile(client, xmpp_server, "alice")
    client.param_set("MUC", "SelfPingInterval", INTERVAL, "alice")
    client.connect("alice")
    yield client, signals
    if backend.client is client and "alice" in client.profiles_list():   # not stopped nor deleted by the test
        client.disconnect("alice")


@pytest.fixture
def carol(xmpp_server: XmppServer) -> Iterator[XmppPeer]:
    peer = connected_peer(xmpp_server, "carol", XMPP_ACCOUNTS["carol"])
    yield peer
    peer.disconnect()


def wait_for_log(backend: BackendProcess, text: str, count: int = 1) -> None:
    """Until the backend's log holds ``text`` ``count`` times (bounded)."""
    deadline = time.monotonic() + LOG_TIMEOUT
    while backend.log_text().count(text) < count:
        assert time.monotonic() < deadline, f"{text!r} not {count} times in the backend log:\n{backend.log_text()}"
        time.sleep(0.05)


def forget_occupant(prosody: ProsodyServer, room: str, nick: str) -> None:
    """Make the room drop ``nick`` without telling anyone, as a restarted MUC component
    does (XEP-0410 §3): the occupant leaves the room's tables, no presence is sent."""
    occupant = _lua_string(f"{room}/{nick}")
    answer = prosody.run_lua(
        f"local room = prosody.hosts[{_lua_string(prosody.muc_service)}].modules.muc.get_room_from_jid("
        f"{_lua_string(room)}); local occupant = room._occupants[{occupant}]; "
        "if not occupant then return 'absent' end; "
        "for real_jid in occupant:each_session() do room._jid_nick[real_jid] = nil end; "
        f"room._occupants[{occupant}] = nil; return 'forgotten'"
    )
    assert answer == "forgotten", answer


def refuse_entries(prosody: ProsodyServer, room: str, count: int) -> None:
    """Make the room answer the next ``count`` entries with ``service-unavailable`` (as a
    full room does, XEP-0045 §7.2.10), then let them in again."""
    answer = prosody.run_lua(
        f"local st = require 'util.stanza'; local events = prosody.hosts[{_lua_string(prosody.muc_service)}].events; "
        f"local left = {count}; local refuse; refuse = function(event) "
        f"if event.room.jid ~= {_lua_string(room)} then return end; left = left - 1; "
        "if left <= 0 then events.remove_handler('muc-occupant-pre-join', refuse) end; "
        "event.origin.send(st.error_reply(event.stanza, 'wait', 'service-unavailable', 'full for a while', "
        "event.room.jid)); return true end; events.add_handler('muc-occupant-pre-join', refuse, 100); return 'armed'"
    )
    assert answer == "armed", answer


def alice_and_carol_in_a_room(client: BridgeClient, signals: SignalRecorder, carol: XmppPeer) -> str:
    """A new room that alice (the self-pinging profile) entered first, then carol."""
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    joined(signals, room, "alice")
    peer_joins(carol, room, "carol")
    return room


def room_rows(client: BridgeClient, room: str) -> list[tuple[str, ...]]:
    """``MucRoomsGet`` of alice for ``room`` (the backend may be in rooms of other tests)."""
    return [tuple(row[:3]) for row in client.muc_rooms_get("alice") if row[0] == room]


def room_joins(signals: SignalRecorder, room: str, profile: str) -> int:
    """``MucRoomJoined`` of ``room`` for ``profile`` received so far (claimed by a wait or not)."""
    return sum(1 for name, args in signals.history if name == "MucRoomJoined" and (args[0], args[-1]) == (room, profile))


@pytest.mark.prosody_only("ejabberd has no way to drop an occupant without telling it (its API kicks with a presence)")
def test_a_room_that_forgot_us_is_entered_again(
    backend: BackendProcess, prosody: ProsodyServer, alice: tuple[BridgeClient, SignalRecorder], carol: XmppPeer,
) -> None:
    client, signals = alice
    room = alice_and_carol_in_a_room(client, signals, carol)
    peer_says(carol, room, "before")
    signals.wait_for("MessageNew", room_message(room, "before", "alice"))

    forget_occupant(prosody, room, "alice")
    peer_says(carol, room, "while forgotten")        # not sent to alice: the room no longer counts her

    assert joined(signals, room, "alice")[1] == "alice"               # entered again, by the self-ping
    assert "no longer counts us as an occupant" in backend.log_text()
    signals.wait_for("MessageNew", room_message(room, "while forgotten", "alice"))   # caught up
    peer_says(carol, room, "after")
    signals.wait_for("MessageNew", room_message(room, "after", "alice"))
    client.message_send(room, {"": "back"}, {}, "groupchat", "{}", "alice")          # the room takes it
    assert carol.wait_message(lambda message: message["body"] == "back")["from"] == f"{room}/alice"
    assert [row[:3] for row in client.muc_rooms_get("alice")] == [(room, "alice", "joined")]
    backend.stop()                                   # with the room's self-ping timer running
    assert "Traceback" not in backend.log_text()


@pytest.mark.prosody_only("the refusals are made by a handler added inside Prosody")
def test_a_rejoin_refused_for_a_while_is_tried_again_until_in(
    backend: BackendProcess, prosody: ProsodyServer, alice: tuple[BridgeClient, SignalRecorder], carol: XmppPeer,
) -> None:
    client, signals = alice
    room = alice_and_carol_in_a_room(client, signals, carol)
    refuse_entries(prosody, room, 3)
    forget_occupant(prosody, room, "alice")
    peer_says(carol, room, "while out")

    wait_for_log(backend, f"cannot enter {room} again now (service-unavailable")
    assert room_rows(client, room) == [(room, "alice", "joining")]   # still listed
    assert joined(signals, room, "alice")[1] == "alice"               # in after the refusals, by a later try
    log = backend.log_text()
    assert log.count(f"cannot enter {room} again now (service-unavailable") == 3
    assert "trying again in 1 s" in log and "trying again in 2 s" in log and "trying again in 4 s" in log
    assert not [args for name, args in signals.history if name == "MucRoomLeft" and args[0] == room]
    signals.wait_for("MessageNew", room_message(room, "while out", "alice"))               # caught up
    assert room_rows(client, room) == [(room, "alice", "joined")]
    backend.stop()
    assert "Traceback" not in backend.log_text()


def test_a_room_that_answers_is_not_entered_again(
    backend: BackendProcess, alice: tuple[BridgeClient, SignalRecorder], carol: XmppPeer,
) -> None:
    client, signals = alice
    room = alice_and_carol_in_a_room(client, signals, carol)
    wait_for_log(backend, f"self-ping of {room}: joined", count=3)
    peer_says(carol, room, "still here")
    signals.wait_for("MessageNew", room_message(room, "still here", "alice"))
    assert room_joins(signals, room, "alice") == 1
    assert "no longer counts us" not in backend.log_text()

    # leaving, then deleting the profile, stops its timers: no ping, no traceback after
    client.muc_leave(room, "alice")
    signals.wait_for("MucRoomLeft", lambda room_jid, reason, text, who: who == "alice")
    pings = backend.log_text().count(f"self-ping of {room}")
    client.disconnect("alice")
    client.profile_delete("alice")
    backend.stop()
    log = backend.log_text()
    assert log.count(f"self-ping of {room}") == pings
    assert "Traceback" not in log
