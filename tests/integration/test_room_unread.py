"""Room messages in the backend's read state, and which of them mention us, on a real
Prosody (``chat.localhost``): a slixmpp occupant and a second profile speak in a room
alice is in; the backend flags mentions once (``extra.mention``), counts every room
message as unread, and our own messages or ``MarkRead`` read the room."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.muc_helpers import MUC_SIGNALS, joined, new_room, peer_joins, peer_says, room_message
from tests.integration.xmpp_helpers import connected_profiles

REFERENCE = "<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:{target}'/>"


@pytest.fixture
def profiles(backend: BackendProcess, fresh_prosody: ProsodyServer) -> Iterator[tuple[BridgeClient, SignalRecorder]]:
    client = backend.client
    assert client is not None
    with connected_profiles(client, fresh_prosody):
        yield client, SignalRecorder(client, *MUC_SIGNALS, "UnreadChanged")


@pytest.fixture
def carol(fresh_prosody: ProsodyServer) -> Iterator[XmppPeer]:
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as peer:
        yield peer


def unread(room: str, count: int, profile: str = "alice") -> Callable[..., bool]:
    return lambda jid, value, who: (jid, value, who) == (room, count, profile)


def extra_of(signals: SignalRecorder, room: str, text: str, profile: str = "alice") -> dict[str, Any]:
    return dict(json.loads(signals.wait_for("MessageNew", room_message(room, text, profile))[7]))


def test_mentions_are_flagged_and_room_messages_counted(profiles: tuple[BridgeClient, SignalRecorder],
                                                        carol: XmppPeer) -> None:
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    joined(signals, room, "alice")
    client.muc_join(room, "bob", "", "{}", "bob")
    joined(signals, room, "bob")
    peer_joins(carol, room, "carol")

    peer_says(carol, room, "tea, anyone?")
    assert "mention" not in extra_of(signals, room, "tea, anyone?")
    signals.wait_for("UnreadChanged", unread(room, 1))
    peer_says(carol, room, "Alice: tea?")
    assert extra_of(signals, room, "Alice: tea?")["mention"] is True
    signals.wait_for("UnreadChanged", unread(room, 2))
    carol.send_message(room, "look at this", mtype="groupchat",
                       payloads=[REFERENCE.format(target=f"{room}/alice")])
    assert extra_of(signals, room, "look at this")["mention"] is True
    carol.send_message(room, "and this", mtype="groupchat", payloads=[REFERENCE.format(target="alice@localhost")])
    assert extra_of(signals, room, "and this")["mention"] is True
    signals.wait_for("UnreadChanged", unread(room, 4, "bob"))
    # the second profile's message: a mention for alice; for bob, his own message reads the room
    client.message_send(room, {"": "malice? no: alice!"}, {}, "groupchat", "{}", "bob")
    assert extra_of(signals, room, "malice? no: alice!")["mention"] is True
    assert "mention" not in extra_of(signals, room, "malice? no: alice!", "bob")
    signals.wait_for("UnreadChanged", unread(room, 5))
    signals.wait_for("UnreadChanged", unread(room, 0, "bob"))
    assert client.unread_get("", "alice") == {room: 5}
    # the flag is in history too: a frontend started later agrees
    rows = client.history_get(room, "", 0, True, "{}", "alice")
    assert [json.loads(row[7]).get("mention", False) for row in rows] == [False, True, True, True, True]

    # our own message reads the room (one answers what one has read); not a mention
    client.message_send(room, {"": "yes alice wants tea"}, {}, "groupchat", "{}", "alice")
    assert "mention" not in extra_of(signals, room, "yes alice wants tea")
    signals.wait_for("UnreadChanged", unread(room, 0))
    assert client.unread_get(room, "alice") == {room: 0}

    peer_says(carol, room, "milk?")
    signals.wait_for("UnreadChanged", unread(room, 1))
    assert client.mark_read(room, "", "alice") == 0
    signals.wait_for("UnreadChanged", unread(room, 0))
    assert client.unread_get("", "alice") == {}
    # no displayed marker went into the room (it would reach carol before this message)
    client.message_send(room, {"": "after reading"}, {}, "groupchat", "{}", "alice")
    carol.wait_message(lambda message: message["body"] == "after reading")
    with pytest.raises(TimeoutError):
        carol.wait_message(lambda message: message.xml.find("{urn:xmpp:chat-markers:0}displayed") is not None,
                           timeout=0.01)


def test_our_message_from_another_device_reads_the_room(profiles: tuple[BridgeClient, SignalRecorder],
                                                        carol: XmppPeer, fresh_prosody: ProsodyServer) -> None:
    """alice's phone is in the room under the same nick (the room shows both sessions as
    one occupant): what it says there comes back to us from our nick, so the room is
    read on the phone, and it never mentions us even though it names us."""
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    joined(signals, room, "alice")
    peer_joins(carol, room, "carol")
    with connected_peer(fresh_prosody, "alice", XMPP_ACCOUNTS["alice"]) as phone:
        peer_joins(phone, room, "alice")
        peer_says(carol, room, "alice, are you there?")
        signals.wait_for("UnreadChanged", unread(room, 1))
        peer_says(phone, room, "alice is on her phone")
        assert "mention" not in extra_of(signals, room, "alice is on her phone")
        signals.wait_for("UnreadChanged", unread(room, 0))
    assert client.unread_get("", "alice") == {}


def test_room_messages_missed_while_away_are_unread(profiles: tuple[BridgeClient, SignalRecorder],
                                                    carol: XmppPeer) -> None:
    """What the room said while we were offline comes back when the room is entered again
    (discussion history and the room's archive, stored once): unread, a mention flagged."""
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    joined(signals, room, "alice")
    peer_joins(carol, room, "carol")
    client.disconnect("alice")
    peer_says(carol, room, "while you were away")
    peer_says(carol, room, "alice: call me")
    client.connect("alice")
    assert extra_of(signals, room, "alice: call me")["mention"] is True
    signals.wait_for("UnreadChanged", unread(room, 2))
    assert client.unread_get(room, "alice") == {room: 2}
