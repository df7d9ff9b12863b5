"""Moderation (roles, affiliations), room configuration and invitations in group chats
(XEP-0045 §8–10, XEP-0249) on a real Prosody, with a slixmpp occupant."""

from __future__ import annotations

import json

import pytest

from sat_bridge import errors

from tests.fixtures.backend import BackendProcess, SignalRecorder

from tests.fixtures.xmpp_peer import XmppPeer
from tests.integration.muc_helpers import Profiles, carol, profiles  # noqa: F401 - fixtures
from tests.integration.muc_helpers import new_room, three_in_a_room, occupant_change, peer_joins, protect
from tests.integration.test_cli import sat

#: every test runs on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

NS_CONFERENCE = "jabber:x:conference"



def left(signals: SignalRecorder, room: str, profile: str) -> tuple[str, str]:
    args = signals.wait_for("MucRoomLeft", lambda room_jid, reason, text, who: (room_jid, who) == (room, profile))
    return args[1], args[2]


@pytest.mark.prosody_only("ejabberd 23.01 lets a banned user enter again (as a visitor, affiliation outcast), "
                          "where Prosody refuses it forbidden (XEP-0045 §9.1)")
def test_moderators_kick_and_ban(profiles: Profiles, carol: XmppPeer) -> None:
    client, signals = profiles
    room = three_in_a_room(profiles, carol)

    with pytest.raises(errors.PermissionDenied, match="^not-allowed|^forbidden"):
        client.muc_role_set(room, "carol", "none", "", "bob")           # a participant may not kick
    client.muc_role_set(room, "bob", "visitor", "quiet please", "alice")
    assert signals.wait_for("MucOccupantChanged", occupant_change(room, "bob", "updated", "bob"))[3]["role"] \
        == "visitor"

    uid = client.message_send(room, {"": "may I?"}, {}, "groupchat", "{}", "bob")   # a visitor may not speak
    update = signals.wait_for("MessageUpdate", lambda message_uid, kind, data, who: (message_uid, who) == (uid, "bob"))
    assert update[1] == "error" and json.loads(update[2])["error"]["condition"] == "forbidden"
    (row,) = [row for row in client.history_get(room, "", 0, True, "{}", "bob") if row[0] == uid]
    assert json.loads(row[7])["error"]["condition"] == "forbidden"

    client.muc_role_set(room, "carol", "none", "out", "alice")
    kicked = signals.wait_for("MucOccupantChanged", occupant_change(room, "carol", "kicked", "alice"))
    assert kicked[3]["reason"] == "out"
    assert "carol" not in dict(client.muc_occupants_get(room, "alice"))
    with pytest.raises((errors.NotFound, errors.InvalidArgument)):    # ejabberd: not-acceptable
        client.muc_role_set(room, "nobody-here", "none", "", "alice")

    client.muc_affiliation_set(room, "bob@localhost/any", "outcast", "banned for the test", "alice")
    assert left(signals, room, "bob") == ("banned", "banned for the test")
    assert client.muc_rooms_get("bob") == []
    assert client.muc_affiliations_get(room, "outcast", "alice") == {"bob@localhost": ""}
    with pytest.raises(errors.PermissionDenied, match="^forbidden"):
        client.muc_join(room, "bob", "", "{}", "bob")
    client.muc_affiliation_set(room, "bob@localhost", "none", "", "alice")
    assert client.muc_join(room, "bob", "", "{}", "bob") == "bob"

    client.muc_affiliation_set(room, "carol@localhost", "member", "", "alice")
    assert client.muc_affiliations_get(room, "member", "alice") == {"carol@localhost": ""}
    with pytest.raises(errors.PermissionDenied):
        client.muc_affiliations_get(room, "outcast", "bob")
    for bad in (("role", "god"), ("affiliation", "emperor")):
        with pytest.raises(errors.InvalidArgument):
            if bad[0] == "role":
                client.muc_role_set(room, "bob", bad[1], "", "alice")
            else:
                client.muc_affiliation_set(room, "bob@localhost", bad[1], "", "alice")
    with pytest.raises(errors.InvalidArgument):
        client.muc_role_set(room, "bob", "none", "x" * 1025, "alice")


def test_owners_configure_the_room(profiles: Profiles, carol: XmppPeer) -> None:
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    config = json.loads(client.muc_config_get(room, "alice"))
    assert config["fields"]["muc#roomconfig_whois"]["type"] == "list-single"
    assert config["values"]["muc#roomconfig_whois"] == "moderators"

    client.muc_config_set(room, json.dumps({"muc#roomconfig_roomname": "Tea room",
                                            "muc#roomconfig_whois": "anyone"}), "alice")
    config = json.loads(client.muc_config_get(room, "alice"))
    assert (config["values"]["muc#roomconfig_roomname"], config["values"]["muc#roomconfig_whois"]) \
        == ("Tea room", "anyone")
    client.muc_join(room, "bob", "", "{}", "bob")
    peer_joins(carol, room, "carol")
    signals.wait_for("MucOccupantChanged", occupant_change(room, "carol", "joined", "bob"))
    assert dict(client.muc_occupants_get(room, "bob"))["carol"]["jid"].startswith("carol@localhost/")   # non-anonymous

    with pytest.raises(errors.PermissionDenied):
        client.muc_config_get(room, "bob")
    for options in ('{"muc#roomconfig_nothing": 1}', '{"muc#roomconfig_whois": "everybody"}', "{}", "[]"):
        with pytest.raises(errors.InvalidArgument):
            client.muc_config_set(room, options, "alice")


def test_invitations(profiles: Profiles, carol: XmppPeer) -> None:
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "door code", "{}", "alice")
    protect(client, room, "door code")

    client.muc_invite(room, "carol@localhost", "tea?", "alice")
    invitation = carol.wait_message(lambda message: message.xml.find(f"{{{NS_CONFERENCE}}}x") is not None)
    element = invitation.xml.find(f"{{{NS_CONFERENCE}}}x")
    assert (element.get("jid"), element.get("reason"), element.get("password")) == (room, "tea?", "door code")

    client.muc_invite(room, "bob@localhost", "", "alice")
    invited = signals.wait_for("MucInvited", lambda room_jid, by, reason, who: who == "bob")
    assert invited[0] == room and invited[1].startswith("alice@localhost/")
    assert client.muc_join(room, "bob", "", "{}", "bob") == "bob"   # with the invitation's password

    other = new_room()
    client.muc_join(other, "alice", "", "{}", "alice")
    if "muc#roomconfig_allowinvites" in json.loads(client.muc_config_get(other, "alice"))["fields"]:
        client.muc_config_set(other, '{"muc#roomconfig_allowinvites": true}', "alice")   # ejabberd: owners only
    peer_joins(carol, other, "carol")
    carol.call(lambda xmpp: _mediated_invite(xmpp, other, "bob@localhost", "join us"))
    mediated = signals.wait_for("MucInvited", lambda room_jid, by, reason, who: room_jid == other and who == "bob")
    # Prosody names the inviter by nick in an anonymous room, ejabberd by real JID
    assert mediated[1] == f"{other}/carol" or mediated[1].startswith("carol@localhost/")
    assert mediated[2] == "join us"
    client.muc_invite(room, "bob@localhost", "barrier", "alice")        # a duplicate would come before it
    signals.wait_for("MucInvited", lambda room_jid, by, reason, who: reason == "barrier")
    assert len([args for name, args in signals.history if name == "MucInvited" and args[0] == other]) == 1
    with pytest.raises(errors.NotFound):
        client.muc_invite(new_room(), "carol@localhost", "", "alice")


async def _mediated_invite(xmpp: object, room: str, invitee: str, reason: str) -> None:
    xmpp.plugin["xep_0045"].invite(room, invitee, reason)  # type: ignore[attr-defined]


def test_moderation_from_the_command_line(backend: BackendProcess, profiles: Profiles, carol: XmppPeer) -> None:
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    client.muc_join(room, "bob", "", "{}", "bob")
    peer_joins(carol, room, "carol")
    assert sat(backend, "muc", "role", room, "bob", "visitor", "-p", "alice").stdout == "bob is now visitor\n"
    assert sat(backend, "muc", "kick", room, "carol", "--reason", "bye", "-p", "bob").returncode == 14
    assert sat(backend, "muc", "kick", room, "carol", "--reason", "bye", "-p", "alice").returncode == 0
    signals.wait_for("MucOccupantChanged", occupant_change(room, "carol", "kicked", "bob"))
    assert sat(backend, "muc", "ban", room, "bob@localhost", "-p", "alice").returncode == 0
    assert left(signals, room, "bob")[0] == "banned"
    assert json.loads(sat(backend, "-O", "json", "muc", "affiliations", room, "outcast", "-p", "alice").stdout) \
        == [{"jid": "bob@localhost", "nick": ""}]
    assert sat(backend, "muc", "affiliation", room, "bob@localhost", "none", "-p", "alice").returncode == 0
    assert sat(backend, "muc", "config", room, "-f", "muc#roomconfig_roomname", "CLI room", "-p", "alice").returncode == 0
    config = json.loads(sat(backend, "-O", "json", "muc", "config", room, "-p", "alice").stdout)
    assert config["values"]["muc#roomconfig_roomname"] == "CLI room"
    assert "muc#roomconfig_roomname" in sat(backend, "muc", "config", room, "-p", "alice").stdout
    assert sat(backend, "muc", "invite", room, "bob@localhost", "--reason", "back?", "-p", "alice").returncode == 0
    assert signals.wait_for("MucInvited", lambda room_jid, by, reason, who: who == "bob")[2] == "back?"
    assert sat(backend, "muc", "role", room, "bob", "god", "-p", "alice").returncode == 2       # usage
