"""A profile deleted and created again under the same name starts with no room: the
rooms the old one was in (saved by the backend, or still in its memory) are not entered
again, nor listed. Bookmarks are the account's, on its server: those still say what to
enter."""

from __future__ import annotations

import pytest

from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.muc_helpers import MUC_SIGNALS, joined, new_room
from tests.integration.xmpp_helpers import create_xmpp_profile

pytestmark = pytest.mark.ejabberd

NS_BOOKMARKS = "urn:xmpp:bookmarks:1"


def test_rooms_of_a_deleted_profile_are_not_entered_by_its_namesake(
    backend: BackendProcess, fresh_xmpp_server: XmppServer,
) -> None:
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, *MUC_SIGNALS)
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    old_room, barrier_room = new_room(), new_room()
    client.muc_join(old_room, "alice", "", "{}", "alice")
    joined(signals, old_room, "alice")
    client.disconnect("alice")
    client.profile_delete("alice")

    # on the server, the account's bookmarks now name another room only (a device of the
    # account changed them): that one is entered, and is the barrier of the session start
    with connected_peer(fresh_xmpp_server, "alice", XMPP_ACCOUNTS["alice"]) as phone:
        phone.retract("alice@localhost", NS_BOOKMARKS, old_room)
        phone.publish("alice@localhost", NS_BOOKMARKS,
                      f"<conference xmlns='{NS_BOOKMARKS}' autojoin='true'><nick>alice</nick></conference>",
                      barrier_room)

    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    assert client.muc_rooms_get("alice") == []                       # nothing of the old profile
    client.connect("alice")
    joined(signals, barrier_room, "alice")
    # saved rooms are entered before bookmarked ones: the old room would be listed by now
    assert [row[:3] for row in client.muc_rooms_get("alice")] == [(barrier_room, "alice", "joined")]
    assert sum(1 for name, args in signals.history if name == "MucRoomJoined" and args[0] == old_room) == 1
