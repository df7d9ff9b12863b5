"""Read state kept by the backend (``UnreadGet``, ``MarkRead``, ``UnreadChanged``) on a
real Prosody, with slixmpp as the other end and as another of our own devices: a
conversation read on the phone (XEP-0333 displayed marker, or our reply, by carbons)
is read here too, and counts survive a backend restart."""

from __future__ import annotations

import json

import pytest
from slixmpp import Message

from sat_bridge.client import BridgeClient
from sat_bridge.errors import InvalidArgument, NotFound
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.xmpp_helpers import create_xmpp_profile

CAROL = "carol@localhost"
MARKERS = "urn:xmpp:chat-markers:0"


def unread_signal(count: int, peer: str = CAROL, profile: str = "alice"):  # type: ignore[no-untyped-def]
    return lambda jid, value, prof: (jid, value, prof) == (peer, count, profile)


def receive(carol: XmppPeer, signals: SignalRecorder, text: str) -> tuple[str, str]:
    """carol sends ``text`` to alice; returns (stanza id, uid in alice's history)."""
    stanza_id = carol.send_message("alice@localhost", text)
    uid = signals.wait_for("MessageNew", lambda *args: args[4] == {"": text} and args[-1] == "alice")[0]
    return stanza_id, uid


@pytest.fixture
def prosody(fresh_prosody: ProsodyServer) -> ProsodyServer:
    """A server of this test's own: the archive catch-up must not bring earlier tests' messages."""
    return fresh_prosody


@pytest.fixture
def alice(backend: BackendProcess, prosody: ProsodyServer) -> BridgeClient:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, prosody, "alice")
    client.connect("alice")
    return client


def test_unread_counts_and_mark_read(alice: BridgeClient, prosody: ProsodyServer) -> None:
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    with connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        _, first = receive(carol, signals, "one")
        signals.wait_for("UnreadChanged", unread_signal(1))
        receive(carol, signals, "two")
        signals.wait_for("UnreadChanged", unread_signal(2))
    assert alice.unread_get("", "alice") == {CAROL: 2}
    assert alice.unread_get("bob@localhost", "alice") == {"bob@localhost": 0}

    assert alice.mark_read(CAROL, first, "alice") == 1
    signals.wait_for("UnreadChanged", unread_signal(1))
    assert alice.mark_read(CAROL, first, "alice") == 1   # same point: nothing moves
    assert alice.mark_read(CAROL, "", "alice") == 0
    signals.wait_for("UnreadChanged", unread_signal(0))
    assert alice.unread_get("", "alice") == {}

    with pytest.raises(NotFound):
        alice.mark_read("bob@localhost", first, "alice")   # carol's message, not bob's
    with pytest.raises(InvalidArgument):
        alice.mark_read("carol@localhost/phone", "", "alice")
    with pytest.raises(InvalidArgument):
        alice.unread_get("not a jid@", "alice")


def test_displayed_marker_from_our_other_device_clears(alice: BridgeClient, prosody: ProsodyServer) -> None:
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    with connected_peer(prosody, "alice", XMPP_ACCOUNTS["alice"]) as phone, \
            connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        receive(carol, signals, "first")
        stanza_id, _ = receive(carol, signals, "seen on the phone")
        signals.wait_for("UnreadChanged", unread_signal(2))
        receive(carol, signals, "not seen yet")
        signals.wait_for("UnreadChanged", unread_signal(3))
        phone.send_message(CAROL, payloads=[f"<displayed xmlns='{MARKERS}' id='{stanza_id}'/>"])
        signals.wait_for("UnreadChanged", unread_signal(1))
        assert alice.unread_get(CAROL, "alice") == {CAROL: 1}
        # a marker from carol (she read our message) does not touch our read state
        carol.send_message("alice@localhost", payloads=[f"<displayed xmlns='{MARKERS}' id='{stanza_id}'/>"])
        receive(carol, signals, "after her marker")
        signals.wait_for("UnreadChanged", unread_signal(2))


def test_our_reply_from_another_device_clears(alice: BridgeClient, prosody: ProsodyServer) -> None:
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    with connected_peer(prosody, "alice", XMPP_ACCOUNTS["alice"]) as phone, \
            connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        receive(carol, signals, "are you there?")
        signals.wait_for("UnreadChanged", unread_signal(1))
        phone.send_message(CAROL, "yes, on my phone")
        signals.wait_for("UnreadChanged", unread_signal(0))
    assert alice.unread_get("", "alice") == {}


def test_our_reply_from_here_clears(alice: BridgeClient, prosody: ProsodyServer) -> None:
    """MessageSend moves the read point in the transaction that stores the message."""
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    with connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        receive(carol, signals, "are you there?")
        receive(carol, signals, "hello?")
        signals.wait_for("UnreadChanged", unread_signal(2))
        alice.message_send(CAROL, {"": "yes, here"}, {}, "chat", "{}", "alice")
        signals.wait_for("UnreadChanged", unread_signal(0))
        alice.message_send(CAROL, {"": "still here"}, {}, "chat", "{}", "alice")
    assert alice.unread_get("", "alice") == {}
    assert alice.unread_get(CAROL, "alice") == {CAROL: 0}


def test_read_state_survives_a_restart(backend: BackendProcess, alice: BridgeClient,
                                       prosody: ProsodyServer) -> None:
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    with connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        _, first = receive(carol, signals, "kept")
        receive(carol, signals, "kept too")
        signals.wait_for("UnreadChanged", unread_signal(2))
    alice.mark_read(CAROL, first, "alice")
    client = backend.restart()
    assert client.unread_get("", "alice") == {CAROL: 1}



def displayed_id(message: Message) -> str | None:
    """The id a XEP-0333 ``<displayed/>`` names, None in a message without one."""
    element = message.xml.find(f"{{{MARKERS}}}displayed")
    return None if element is None else element.get("id")


def test_mark_read_sends_a_displayed_marker_to_a_peer_who_asks(alice: BridgeClient, prosody: ProsodyServer) -> None:
    """``MarkRead`` tells carol: one ``<displayed/>`` naming her last message that asked
    for it (``<markable/>``), by the id she gave; none when she did not ask, none while
    ``Privacy/SendReadMarkers`` is off."""
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    markable = f"<markable xmlns='{MARKERS}'/>"
    with connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.send_message("alice@localhost", "one", payloads=[markable])
        two = carol.send_message("alice@localhost", "two", payloads=[markable])
        assert json.loads(signals.wait_for("MessageNew", lambda *args: args[4] == {"": "two"})[7]) == {"markable": True}
        receive(carol, signals, "three, no marker asked")
        signals.wait_for("UnreadChanged", unread_signal(3))
        assert alice.mark_read(CAROL, "", "alice") == 0
        marker = carol.wait_message(lambda message: displayed_id(message) is not None)
        assert displayed_id(marker) == two
        assert marker["type"] == "chat" and not marker["body"]
        assert marker.xml.find("{urn:xmpp:hints}store") is not None   # our other devices find it in the archive

        alice.param_set("Privacy", "SendReadMarkers", "false", "alice")
        carol.send_message("alice@localhost", "four", payloads=[markable])
        signals.wait_for("UnreadChanged", unread_signal(1))
        assert alice.mark_read(CAROL, "", "alice") == 0
        alice.param_set("Privacy", "SendReadMarkers", "true", "alice")
        five = carol.send_message("alice@localhost", "five", payloads=[markable])
        signals.wait_for("UnreadChanged", unread_signal(1))
        assert alice.mark_read(CAROL, "", "alice") == 0
        # the next marker carol gets is for "five": none was sent for "four"
        marker = carol.wait_message(lambda message: displayed_id(message) is not None)
        assert displayed_id(marker) == five
