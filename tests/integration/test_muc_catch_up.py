"""The catch-up of a room's archive on real servers: a gap longer than one page of the
archive (100 asked; Prosody gives at most 50) is fetched whole, page after page."""

from __future__ import annotations

import pytest

from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.muc_helpers import MUC_SIGNALS, joined, new_room, peer_joins, room_bodies, room_message
from tests.integration.xmpp_helpers import create_xmpp_profile

pytestmark = pytest.mark.ejabberd

#: messages sent while alice is offline: more than two pages of any of the servers
MISSED = 230


def test_a_gap_longer_than_a_page_is_fetched_whole(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, *MUC_SIGNALS)
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")          # the owner: ejabberd lets members read the archive
    joined(signals, room, "alice")
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        peer_joins(carol, room, "carol")
        carol.send_message(room, "before", mtype="groupchat")
        signals.wait_for("MessageNew", room_message(room, "before", "alice"))

        client.disconnect("alice")
        missed = [f"missed {number}" for number in range(MISSED)]
        carol.send_messages(room, missed, mtype="groupchat")
        carol.wait_message(lambda message: message["body"] == missed[-1])   # the room has them all
        client.connect("alice")
        joined(signals, room, "alice")
        for text in missed:
            signals.wait_for("MessageNew", room_message(room, text, "alice"), timeout=30)
    assert sorted(room_bodies(client, room, "alice")) == sorted(["before", *missed])
