"""Reactions (XEP-0444) in rooms, and changes of messages read from a room's archive, on a
real Prosody (and ejabberd where it can): two profiles of the backend and slixmpp occupants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slixmpp import Message

from sat_bridge import errors

from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.muc_helpers import Profiles, carol, profiles  # noqa: F401 - fixtures
from tests.integration.muc_helpers import new_room, three_in_a_room, occupant_change, peer_joins, peer_says, room_message
from tests.integration.test_cli import sat

#: every test runs on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

NS_REACTIONS = "urn:xmpp:reactions:0"
NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0"
NO_OCCUPANT_ID = "XEP-0421 occupant-ids, which ejabberd 23.01 does not give"



def update(signals: SignalRecorder, uid: str, kind: str, profile: str) -> dict[str, Any]:
    args = signals.wait_for("MessageUpdate", lambda u, k, data, who: (u, k, who) == (uid, kind, profile))
    data: dict[str, Any] = json.loads(args[2])
    return data


def updates_of(signals: SignalRecorder, uid: str) -> list[tuple[str, str]]:
    return [(args[1], args[3]) for name, args in signals.history if name == "MessageUpdate" and args[0] == uid]


def room_reaction(message: Message) -> bool:
    return message["type"] == "groupchat" and message.xml.find(f"{{{NS_REACTIONS}}}reactions") is not None


def room_stanza_id(peer: XmppPeer, room: str, text: str) -> str:
    """The room's XEP-0359 stanza-id of ``text``, as the peer received it."""
    received = peer.wait_message(lambda message: message["body"] == text)
    stanza_id = received.xml.find("{urn:xmpp:sid:0}stanza-id")
    assert stanza_id is not None and stanza_id.get("by") == room
    return str(stanza_id.get("id"))


def react(peer: XmppPeer, room: str, stanza_id: str, *emojis: str, forged_occupant_id: str | None = None) -> None:
    payload = f"<reactions xmlns='{NS_REACTIONS}' id='{stanza_id}'>" + "".join(
        f"<reaction>{emoji}</reaction>" for emoji in emojis) + "</reactions>"
    extra = [f"<occupant-id xmlns='{NS_OCCUPANT_ID}' id='{forged_occupant_id}'/>"] if forged_occupant_id else []
    peer.send_message(room, mtype="groupchat", payloads=[payload, *extra])


def test_reactions_in_a_room(backend: BackendProcess, profiles: Profiles, carol: XmppPeer,
                             xmpp_server_name: str) -> None:
    """Ours go to the room by its stanza-id and come back once; an occupant's are kept per
    reactor (occupant-id on Prosody; on ejabberd, without XEP-0421, the occupant JID)."""
    client, signals = profiles
    room = three_in_a_room(profiles, carol)
    peer_says(carol, room, "react to this")
    uid = signals.wait_for("MessageNew", room_message(room, "react to this", "alice"))[0]
    bob_uid = signals.wait_for("MessageNew", room_message(room, "react to this", "bob"))[0]
    stanza_id = room_stanza_id(carol, room, "react to this")

    client.message_reactions_set(uid, ["👍"], "add", "alice")
    assert update(signals, uid, "reactions", "alice") == {"reactions": {"👍": ["alice@localhost"]}}
    sent = carol.wait_message(room_reaction)
    assert sent["from"].resource == "alice"
    assert sent.xml.find(f"{{{NS_REACTIONS}}}reactions").get("id") == stanza_id    # XEP-0444: the room's id
    (alice_seen_by_bob,) = update(signals, bob_uid, "reactions", "bob")["reactions"]["👍"]
    if xmpp_server_name == "prosody":
        occupant_ids = {nick: attributes["occupant_id"] for nick, attributes in client.muc_occupants_get(room, "bob")}
        assert alice_seen_by_bob == f"occupant-id:{occupant_ids['alice']}"
    else:
        assert alice_seen_by_bob == f"{room}/alice"                  # a semi-anonymous room, to bob

    react(carol, room, stanza_id, "❤️")
    assert update(signals, uid, "reactions", "alice")["reactions"]["❤️"] != ["alice@localhost"]
    react(carol, room, stanza_id, "👋")                              # her whole set: ❤️ replaced
    reactions = update(signals, uid, "reactions", "alice")["reactions"]
    assert set(reactions) == {"👍", "👋"} and reactions["👍"] == ["alice@localhost"]
    # ours came back from the room: not applied twice (one update for ours, two for carol's)
    assert updates_of(signals, uid).count(("reactions", "alice")) == 3
    row = [row for row in client.history_get(room, "", 0, True, "{}", "alice") if row[0] == uid][0]
    assert json.loads(row[7])["reactions"] == reactions

    mine = client.message_send(room, {"": "mine"}, {}, "groupchat", "{}", "alice")
    react(carol, room, room_stanza_id(carol, room, "mine"), "🎉")
    notified = signals.wait_for("ReactionsReceived", lambda *args: args[0] == mine)
    assert notified[1:] == (room, f"{room}/carol", ["🎉"], "alice")

    result = sat(backend, "message", "react", bob_uid, "🎉", "-p", "bob")    # the CLI, in a room
    assert result.returncode == 0, result.stderr
    bob_sees = signals.wait_for("MessageUpdate", lambda u, kind, data, who: u == bob_uid and "🎉" in json.loads(data)["reactions"])
    assert json.loads(bob_sees[2])["reactions"]["🎉"] == ["bob@localhost"]
    client.muc_leave(room, "bob")
    with pytest.raises(errors.NotFound):
        client.message_reactions_set(bob_uid, ["👍"], "add", "bob")     # not in the room any more


@pytest.mark.prosody_only(NO_OCCUPANT_ID)
def test_a_forged_occupant_id_does_not_touch_another_reactor(
    profiles: Profiles, carol: XmppPeer, fresh_xmpp_server: XmppServer,
) -> None:
    """The room replaces any occupant-id a sender writes (XEP-0421 §4): dave claiming
    carol's id reacts as dave, and carol's reactions stay."""
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    peer_joins(carol, room, "carol")
    peer_says(carol, room, "hello")
    uid = signals.wait_for("MessageNew", room_message(room, "hello", "alice"))[0]
    stanza_id = room_stanza_id(carol, room, "hello")
    carol_id = dict(client.muc_occupants_get(room, "alice"))["carol"]["occupant_id"]
    react(carol, room, stanza_id, "❤️")
    assert update(signals, uid, "reactions", "alice") == {"reactions": {"❤️": [f"occupant-id:{carol_id}"]}}
    with connected_peer(fresh_xmpp_server, "dave", XMPP_ACCOUNTS["dave"]) as dave:
        peer_joins(dave, room, "dave")
        react(dave, room, stanza_id, forged_occupant_id=carol_id)       # "carol removes hers"
        react(dave, room, stanza_id, "💩", forged_occupant_id=carol_id)
        reactions = update(signals, uid, "reactions", "alice")["reactions"]
    assert reactions["❤️"] == [f"occupant-id:{carol_id}"]
    assert reactions["💩"] != [f"occupant-id:{carol_id}"]


@pytest.mark.prosody_only(NO_OCCUPANT_ID)
def test_changes_of_a_message_read_from_the_room_archive(profiles: Profiles, carol: XmppPeer,
                                                         fresh_xmpp_server: XmppServer) -> None:
    """A message that came only from the room's archive (XEP-0313: more were sent while
    away than the 20 of Prosody's discussion history) keeps its author's occupant-id:
    the author's later correction applies, someone else's does not."""
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")              # creates the room
    client.muc_join(room, "bob", "", "{}", "bob")
    peer_joins(carol, room, "carol")
    signals.wait_for("MucOccupantChanged", occupant_change(room, "carol", "joined", "bob"))
    carol_occupant_id = dict(client.muc_occupants_get(room, "bob"))["carol"]["occupant_id"]
    client.disconnect("bob")
    typo_id = peer_says(carol, room, "helo")
    carol.send_messages(room, [f"then {number}" for number in range(25)], mtype="groupchat")
    carol.wait_message(lambda message: message["body"] == "then 24")
    client.connect("bob")
    uid, *_, extra, _ = signals.wait_for("MessageNew", room_message(room, "helo", "bob"))
    assert json.loads(extra)["occupant_id"] == carol_occupant_id
    signals.wait_for("MessageNew", room_message(room, "then 24", "bob"))
    with connected_peer(fresh_xmpp_server, "dave", XMPP_ACCOUNTS["dave"]) as dave:
        peer_joins(dave, room, "dave")
        dave.send_message(room, "forged", mtype="groupchat", replace={"id": typo_id})
        carol.send_message(room, "hello", mtype="groupchat", replace={"id": typo_id})
        assert update(signals, uid, "edit", "bob")["message"] == {"": "hello"}
    assert updates_of(signals, uid) == [("edit", "bob")]
