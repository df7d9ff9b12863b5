"""Room bookmarks (XEP-0402) on a real Prosody: the backend and another device of the
same account (slixmpp) keep the rooms they are in in sync through PEP."""

from __future__ import annotations

from typing import Iterator

import pytest

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.muc_helpers import MUC_SIGNALS, joined, new_room
from tests.integration.xmpp_helpers import create_xmpp_profile

NS_BOOKMARKS = "urn:xmpp:bookmarks:1"
Alice = tuple[BridgeClient, SignalRecorder]


@pytest.fixture
def alice(backend: BackendProcess, fresh_prosody: ProsodyServer) -> Iterator[Alice]:
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, *MUC_SIGNALS)
    create_xmpp_profile(client, fresh_prosody, "alice")
    client.connect("alice")
    yield client, signals
    client.disconnect("alice")


@pytest.fixture
def phone(fresh_prosody: ProsodyServer) -> Iterator[XmppPeer]:
    """alice's other device."""
    peer = connected_peer(fresh_prosody, "alice", XMPP_ACCOUNTS["alice"])
    yield peer
    peer.disconnect()


def bookmarks(phone: XmppPeer) -> dict[str, tuple[str | None, str | None]]:
    """room → (autojoin, nick) as the other device reads them."""
    found = {}
    for room, conference in phone.get_items("alice@localhost", NS_BOOKMARKS):
        nick = conference.find(f"{{{NS_BOOKMARKS}}}nick")
        found[room] = (conference.get("autojoin"), nick.text if nick is not None else None)
    return found


def bookmark(autojoin: bool) -> str:
    return f"<conference xmlns='{NS_BOOKMARKS}' autojoin='{'true' if autojoin else 'false'}'><nick>pocket</nick></conference>"


def left(signals: SignalRecorder, room: str) -> tuple[str, ...]:
    return signals.wait_for("MucRoomLeft", lambda room_jid, *rest: room_jid == room)


def test_bookmarks_follow_the_rooms_of_every_device(alice: Alice, phone: XmppPeer) -> None:
    client, signals = alice
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    assert bookmarks(phone)[room] == ("true", "alice")

    other = new_room()
    phone.publish("alice@localhost", NS_BOOKMARKS, bookmark(True), other)
    assert joined(signals, other, "alice")[1] == "pocket"           # the phone's bookmark, its nick
    assert {row[0] for row in client.muc_rooms_get("alice")} == {room, other}
    phone.publish("alice@localhost", NS_BOOKMARKS, bookmark(False), other)
    assert left(signals, other)[1] == "left"
    assert bookmarks(phone)[other][0] == "false"                    # not changed back by us

    client.muc_leave(room, "alice")
    assert bookmarks(phone)[room] == ("false", None)
    assert client.muc_rooms_get("alice") == []


def test_bookmarks_with_autojoin_are_entered_at_connection(alice: Alice, phone: XmppPeer) -> None:
    client, signals = alice
    client.disconnect("alice")
    room = new_room()
    phone.publish("alice@localhost", NS_BOOKMARKS, bookmark(True), room)
    client.connect("alice")
    assert joined(signals, room, "alice")[1] == "pocket"


def test_our_own_bookmark_notifications_undo_nothing(alice: Alice, phone: XmppPeer) -> None:
    """Leaving and entering again at once: the notification of the leave's bookmark
    (autojoin false) comes back while we enter again, and must not make us leave."""
    client, signals = alice
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    for _ in range(5):
        client.muc_leave(room, "alice")
        client.muc_join(room, "alice", "", "{}", "alice")
    barrier = new_room()
    phone.publish("alice@localhost", NS_BOOKMARKS, bookmark(True), barrier)   # notified after ours
    joined(signals, barrier, "alice")
    assert {row[0]: row[2] for row in client.muc_rooms_get("alice")} == {room: "joined", barrier: "joined"}
    assert bookmarks(phone)[room] == ("true", "alice")
