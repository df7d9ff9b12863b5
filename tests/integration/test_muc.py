"""Group chats (XEP-0045) on a real Prosody (``chat.localhost``, archived with muc_mam):
two profiles of the backend and a slixmpp occupant in the same room."""

from __future__ import annotations

import json

import pytest

from sat_bridge import errors

from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.muc_helpers import Profiles, carol, profiles  # noqa: F401 - fixtures
from tests.integration.muc_helpers import (
    MUC_SIGNALS,
    joined,
    new_room,
    occupant_change,
    peer_joins,
    peer_says,
    protect,
    room_bodies,
    room_message,
    three_in_a_room,
)
from tests.integration.test_cli import sat
from tests.integration.xmpp_helpers import create_xmpp_profile

#: every test runs on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

NS_RETRACT = "urn:xmpp:message-retract:1"



def test_a_room_with_two_profiles_and_a_peer(profiles: Profiles, carol: XmppPeer, xmpp_server_name: str) -> None:
    client, signals = profiles
    room = new_room()
    assert client.muc_join(room, "alice", "", "{}", "alice") == "alice"
    assert joined(signals, room, "alice")[2] is True                       # created: an instant room
    peer_joins(carol, room, "carol")
    assert signals.wait_for("MucOccupantChanged", occupant_change(room, "carol", "joined", "alice"))[3]["role"] \
        == "participant"

    # the nick is taken: bob gets a suffix he sees, or a Conflict when he asks for one
    with pytest.raises(errors.Conflict):
        client.muc_join(room, "alice", "", json.dumps({"nick_conflict": "error"}), "bob")
    assert client.muc_rooms_get("bob") == []
    assert client.muc_join(room, "alice", "", "{}", "bob") == "alice_2"
    assert joined(signals, room, "bob")[1] == "alice_2"

    occupants = dict(client.muc_occupants_get(room, "bob"))
    assert set(occupants) == {"alice", "alice_2", "carol"}
    assert (occupants["alice"]["role"], occupants["alice"]["affiliation"]) == ("moderator", "owner")
    assert (occupants["carol"]["role"], occupants["carol"]["affiliation"]) == ("participant", "none")
    assert ("occupant_id" in occupants["carol"]) == (xmpp_server_name == "prosody")   # XEP-0421: not ejabberd 23.01

    # chat both ways: our message once in history (its reflection is recognised), others' once
    uid = client.message_send(room, {"": "hello room"}, {}, "groupchat", "{}", "alice")
    sent = signals.wait_for("MessageNew", room_message(room, "hello room", "alice"))
    assert sent[0] == uid and sent[2] == f"{room}/alice"
    assert carol.wait_message(lambda message: message["body"] == "hello room")["from"] == f"{room}/alice"
    assert signals.wait_for("MessageNew", room_message(room, "hello room", "bob"))[2] == f"{room}/alice"
    peer_says(carol, room, "hello from carol")
    for profile in ("alice", "bob"):
        assert signals.wait_for("MessageNew", room_message(room, "hello from carol", profile))[2] == f"{room}/carol"
    client.message_send(room, {"": "sync"}, {}, "groupchat", "{}", "bob")
    signals.wait_for("MessageNew", room_message(room, "sync", "alice"))
    assert room_bodies(client, room, "alice") == ["hello room", "hello from carol", "sync"]
    assert not [args for name, args in signals.history
                if name == "MessageNew" and args[0] != uid and args[4] == {"": "hello room"} and args[-1] == "alice"]

    # subject
    client.muc_subject_set(room, {"": "today: tests"}, "alice")
    assert signals.wait_for("MucSubject", lambda room_jid, subject, by, who: who == "bob" and subject)[1:3] \
        == ({"": "today: tests"}, "alice")
    assert dict((r[0], r[3]) for r in client.muc_rooms_get("bob"))[room] == {"": "today: tests"}

    # nick change
    client.muc_nick_set(room, "bobby", "bob")
    assert signals.wait_for("MucOccupantChanged", occupant_change(room, "alice_2", "nick", "alice"))[3]["new_nick"] \
        == "bobby"
    with pytest.raises(errors.Conflict):
        client.muc_nick_set(room, "carol", "bob")
    assert [r[1] for r in client.muc_rooms_get("bob")] == ["bobby"]

    # leave
    client.muc_leave(room, "bob")
    assert signals.wait_for("MucRoomLeft", lambda room_jid, reason, text, who: who == "bob")[1] == "left"
    signals.wait_for("MucOccupantChanged", occupant_change(room, "bobby", "left", "alice"))
    assert client.muc_rooms_get("bob") == []
    with pytest.raises(errors.NotFound):
        client.message_send(room, {"": "not in"}, {}, "groupchat", "{}", "bob")
    with pytest.raises(errors.NotFound):
        client.muc_leave(room, "bob")


def test_a_password_room(profiles: Profiles) -> None:
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    protect(client, room, "open sesame")
    for password in ("", "wrong"):
        with pytest.raises(errors.PermissionDenied, match="not-authorized"):
            client.muc_join(room, "bob", password, "{}", "bob")
    assert client.muc_join(room, "bob", "open sesame", "{}", "bob") == "bob"


def test_bad_arguments_are_refused(profiles: Profiles) -> None:
    client, _ = profiles
    room = new_room()
    for room_jid, nick, options in (
        ("chat.localhost", "a", "{}"), (f"{room}/nick", "a", "{}"), ("", "a", "{}"),
        (room, "a\x01b", "{}"), (room, "x" * 1024, "{}"), (room, " ", "{}"),
        (room, "a", '{"nick_conflict": "merge"}'), (room, "a", '{"history_max": -1}'), (room, "a", "[1]"),
        (room, "a", '{"unknown": 1}'),
    ):
        with pytest.raises(errors.InvalidArgument):
            client.muc_join(room_jid, nick, "", options, "alice")
    for not_a_room in ("bob@localhost", "room@pubsub.localhost"):   # nothing there would answer a join
        with pytest.raises(errors.NotFound, match="not a group chat"):
            client.muc_join(not_a_room, "a", "", "{}", "alice")
    assert client.muc_rooms_get("alice") == []
    with pytest.raises(errors.NotFound):
        client.muc_occupants_get(room, "alice")
    with pytest.raises(errors.NotFound):
        client.muc_subject_set(room, {"": "x"}, "alice")
    client.muc_join(room, "alice", "", "{}", "alice")
    with pytest.raises(errors.InvalidArgument):
        client.muc_subject_set(room, {"": "s" * 5000}, "alice")
    with pytest.raises(errors.InvalidArgument):
        client.muc_subject_set(room, {"": "bad\x0bchar"}, "alice")
    with pytest.raises(errors.InvalidArgument):
        client.message_send(f"{room}/alice", {"": "to a nick"}, {}, "groupchat", "{}", "alice")


def test_history_replayed_by_the_room_is_stored_once(profiles: Profiles, carol: XmppPeer) -> None:
    """The room sends its discussion history on each entry: known messages (stanza-id by
    the room, or origin-id for ours) are not stored nor announced again."""
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    peer_joins(carol, room, "carol")
    client.message_send(room, {"": "mine"}, {}, "groupchat", "{}", "alice")
    for number in range(3):
        peer_says(carol, room, f"carol {number}")
    signals.wait_for("MessageNew", room_message(room, "carol 2", "alice"))
    client.muc_leave(room, "alice")
    signals.wait_for("MucRoomLeft", lambda room_jid, reason, text, who: who == "alice")
    peer_says(carol, room, "while alice was out")

    client.muc_join(room, "alice", "", json.dumps({"history_max": 50}), "alice")
    signals.wait_for("MessageNew", room_message(room, "while alice was out", "alice"))
    client.muc_subject_set(room, {"": "barrier"}, "alice")     # the history came before the subject
    expected = ["mine", "carol 0", "carol 1", "carol 2", "while alice was out"]
    # (sorted: the room stamps its history to the second, live messages got their arrival time)
    assert sorted(room_bodies(client, room, "alice")) == sorted(expected)
    announced = [args[4][""] for name, args in signals.history
                 if name == "MessageNew" and args[-1] == "alice" and args[2].startswith(room)]
    assert sorted(announced) == sorted(expected)


def test_rooms_are_entered_again_after_a_reconnection(
    backend: BackendProcess, fresh_xmpp_server: XmppServer,
) -> None:
    """Rooms are persisted: a new session (reconnection, or a backend restart) enters them
    again and gets only what it missed."""
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, *MUC_SIGNALS)
    create_xmpp_profile(client, fresh_xmpp_server, "alice", autoconnect=True)
    client.connect("alice")
    room = new_room()
    client.muc_join(room, "alice", "secret-room-password", "{}", "alice")
    joined(signals, room, "alice")
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        peer_joins(carol, room, "carol", password="secret-room-password")
        peer_says(carol, room, "before")
        signals.wait_for("MessageNew", room_message(room, "before", "alice"))

        client.disconnect("alice")
        peer_says(carol, room, "while offline")
        client.connect("alice")
        assert joined(signals, room, "alice")[1] == "alice"
        signals.wait_for("MessageNew", room_message(room, "while offline", "alice"))
        # (sorted: the room stamps its history to the second, live messages got their arrival time)
        assert sorted(room_bodies(client, room, "alice")) == ["before", "while offline"]

        client = backend.restart()
        signals = SignalRecorder(client, *MUC_SIGNALS)
        joined(signals, room, "alice")                                     # autoconnect, then the room
        peer_says(carol, room, "after the restart")
        signals.wait_for("MessageNew", room_message(room, "after the restart", "alice"))
        assert sorted(room_bodies(client, room, "alice")) == ["after the restart", "before", "while offline"]
        assert [row[:3] for row in client.muc_rooms_get("alice")] == [(room, "alice", "joined")]
    assert "secret-room-password" not in backend.log_text()


def test_rooms_from_the_command_line(backend: BackendProcess, profiles: Profiles, carol: XmppPeer) -> None:
    client, signals = profiles
    room = new_room()
    assert sat(backend, "muc", "join", room, "--nick", "al", "-p", "alice").stdout == f"in {room} as al\n"
    assert sat(backend, "-O", "json", "muc", "join", room, "--nick", "al", "-p", "bob").stdout \
        == json.dumps({"room": room, "nick": "al_2"}) + "\n"
    assert sat(backend, "muc", "join", room, "--nick", "al", "--nick-conflict", "error", "-p", "carol").returncode \
        == 12                                                             # ProfileUnknown: no profile carol
    peer_joins(carol, room, "carol")
    uid = sat(backend, "muc", "send", room, "hi", "all", "-p", "alice").stdout.strip()
    assert signals.wait_for("MessageNew", room_message(room, "hi all", "bob"))[2] == f"{room}/al"
    assert carol.wait_message(lambda message: message["body"] == "hi all")["id"] == uid
    peer_says(carol, room, "hi al")
    signals.wait_for("MessageNew", room_message(room, "hi al", "alice"))
    history = sat(backend, "history", room, "-p", "alice").stdout.splitlines()
    lines = [line.split("] ", 1)[1] for line in history]
    assert lines[0] == f"{room}/al → {room}: hi all" and len(lines) == 2
    assert lines[1].startswith(f"{room}/carol → alice@localhost/") and lines[1].endswith(": hi al")

    occupants = json.loads(sat(backend, "-O", "json", "muc", "occupants", room, "-p", "bob").stdout)
    assert {(row["nick"], row["role"], row["affiliation"]) for row in occupants} == {
        ("al", "moderator", "owner"), ("al_2", "participant", "none"), ("carol", "participant", "none")}
    assert sat(backend, "muc", "subject", room, "CLI", "topic", "-p", "alice").returncode == 0
    assert sat(backend, "muc", "subject", room, "-p", "bob").stdout == "CLI topic\n"
    assert sat(backend, "muc", "nick", room, "bobby", "-p", "bob").returncode == 0
    assert sat(backend, "muc", "nick", room, "carol", "-p", "bob").returncode == 13      # Conflict
    assert sat(backend, "-O", "json", "muc", "list", "-p", "bob").stdout \
        == json.dumps([{"room": room, "nick": "bobby", "state": "joined", "subject": {"": "CLI topic"}}]) + "\n"
    assert sat(backend, "muc", "leave", room, "-p", "bob").returncode == 0
    assert sat(backend, "muc", "list", "-p", "bob").stderr.strip() == "in no room"
    result = sat(backend, "muc", "send", room, "gone", "-p", "bob")
    assert result.returncode == 11 and room in result.stderr                            # NotFound
    assert sat(backend, "muc", "join", "not a jid", "-p", "bob").stderr.startswith("sat: InvalidArgument: ROOM:")


def test_the_room_archive_brings_everything_missed(profiles: Profiles, carol: XmppPeer) -> None:
    """Entering again reads the room's archive (XEP-0313 on the room JID) after the last
    message we have: more than the 20 messages of discussion history Prosody sends."""
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    peer_joins(carol, room, "carol")
    client.message_send(room, {"": "mine before"}, {}, "groupchat", "{}", "alice")
    peer_says(carol, room, "before")
    signals.wait_for("MessageNew", room_message(room, "before", "alice"))

    client.disconnect("alice")
    missed = [f"missed {number}" for number in range(30)]
    carol.send_messages(room, missed, mtype="groupchat")
    carol.wait_message(lambda message: message["body"] == "missed 29")   # the room has them all
    client.connect("alice")
    joined(signals, room, "alice")
    for text in missed:
        signals.wait_for("MessageNew", room_message(room, text, "alice"))
    peer_says(carol, room, "live again")
    signals.wait_for("MessageNew", room_message(room, "live again", "alice"))
    assert sorted(room_bodies(client, room, "alice")) == sorted(["mine before", "before", *missed, "live again"])



#: why the tests of changes in rooms stay on Prosody
NO_OCCUPANT_ID = "authors of changes in rooms are told by XEP-0421 occupant-ids, which ejabberd 23.01 does not give"


@pytest.mark.prosody_only(NO_OCCUPANT_ID)
def test_corrections_and_retractions_in_a_room_need_their_author(
    profiles: Profiles, carol: XmppPeer, fresh_xmpp_server: XmppServer,
) -> None:
    """In a room everyone shares the room's JID: a correction or retraction is applied
    only when the room gave it the occupant-id (XEP-0421) of the message's author."""
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    peer_joins(carol, room, "carol")
    carol_id = peer_says(carol, room, "helo")
    uid, _, _, _, _, _, _, extra, _ = signals.wait_for("MessageNew", room_message(room, "helo", "alice"))
    assert json.loads(extra)["occupant_id"]
    with connected_peer(fresh_xmpp_server, "dave", XMPP_ACCOUNTS["dave"]) as dave:
        peer_joins(dave, room, "dave")
        dave.send_message(room, "forged", mtype="groupchat", replace={"id": carol_id})
        dave.send_message(room, mtype="groupchat", payloads=[f'<retract xmlns="{NS_RETRACT}" id="{carol_id}"/>'])
        carol.send_message(room, "hello", mtype="groupchat", replace={"id": carol_id})
        update = signals.wait_for("MessageUpdate", lambda message_uid, kind, data, who: who == "alice")
        assert update[:2] == (uid, "edit") and json.loads(update[2])["message"] == {"": "hello"}
        carol.send_message(room, mtype="groupchat", payloads=[f'<retract xmlns="{NS_RETRACT}" id="{carol_id}"/>'])
        assert signals.wait_for("MessageUpdate", lambda message_uid, kind, data, who: who == "alice")[:2] \
            == (uid, "retract")
    assert [args[1] for name, args in signals.history if name == "MessageUpdate" and args[-1] == "alice"] \
        == ["edit", "retract"]                                         # dave's were ignored
    (row,) = [row for row in client.history_get(room, "", 0, True, "{}", "alice") if row[0] == uid]
    assert json.loads(row[7])["retracted"] and row[4] == {}


@pytest.mark.prosody_only(NO_OCCUPANT_ID)
def test_we_correct_and_retract_our_room_messages(profiles: Profiles, carol: XmppPeer) -> None:
    client, signals = profiles
    room = three_in_a_room(profiles, carol)
    uid = client.message_send(room, {"": "helo"}, {}, "groupchat", "{}", "alice")
    bob_uid = signals.wait_for("MessageNew", room_message(room, "helo", "bob"))[0]
    room_id = carol.wait_message(lambda message: message["body"] == "helo").xml.find(
        "{urn:xmpp:sid:0}stanza-id").get("id")

    client.message_edit(uid, {"": "hello"}, "{}", "alice")
    assert carol.wait_message(lambda message: message["body"] == "hello")["replace"]["id"] == uid
    for who, message_uid in (("alice", uid), ("bob", bob_uid)):          # bob: by alice's occupant-id
        update = signals.wait_for("MessageUpdate", lambda u, kind, data, profile, who=who: profile == who)
        assert update[:2] == (message_uid, "edit") and json.loads(update[2])["message"] == {"": "hello"}

    client.message_retract(uid, "alice")
    retraction = carol.wait_message(lambda message: message.xml.find(f"{{{NS_RETRACT}}}retract") is not None)
    assert retraction.xml.find(f"{{{NS_RETRACT}}}retract").get("id") == room_id   # XEP-0424: the room's stanza-id
    assert signals.wait_for("MessageUpdate", lambda u, kind, data, profile: profile == "bob")[:2] == (bob_uid, "retract")
    with pytest.raises(errors.PermissionDenied):
        client.message_edit(bob_uid, {"": "not mine"}, "{}", "bob")
    with pytest.raises(errors.Conflict):
        client.message_reactions_set(bob_uid, ["👍"], "add", "bob")   # retracted
