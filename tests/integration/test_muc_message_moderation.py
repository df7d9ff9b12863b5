"""Moderated message retraction (XEP-0425) on a real Prosody with mod_muc_moderation, and
what ejabberd 23.01 (without XEP-0425) answers; slixmpp occupants."""

from __future__ import annotations

import json
from typing import Callable

import pytest
from slixmpp import Message

from sat_bridge import errors

from tests.fixtures.backend import BackendProcess

from tests.fixtures.xmpp_peer import XmppPeer
from tests.integration.muc_helpers import Profiles, carol, profiles  # noqa: F401 - fixtures
from tests.integration.muc_helpers import peer_says, room_message, three_in_a_room
from tests.integration.test_cli import sat
from tests.integration.test_muc_message_changes import room_stanza_id, update, updates_of

#: every test runs on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

NS_FASTEN = "urn:xmpp:fasten:0"
NS_MODERATE_0 = "urn:xmpp:message-moderate:0"
NS_MODERATE_1 = "urn:xmpp:message-moderate:1"
NS_RETRACT_0 = "urn:xmpp:message-retract:0"
NS_RETRACT_1 = "urn:xmpp:message-retract:1"



def moderation_announced(room: str) -> Callable[[Message], bool]:
    return lambda message: (message["from"].full == room and (
        message.xml.find(f"{{{NS_FASTEN}}}apply-to") is not None
        or message.xml.find(f"{{{NS_RETRACT_1}}}retract") is not None))


def a_room_with_carol(profiles: Profiles, carol: XmppPeer, text: str) -> tuple[str, str, str]:
    """alice (owner, so moderator) and bob (participant) in a new room with carol, who
    said ``text``: (room, its uid for alice, its uid for bob)."""
    client, signals = profiles
    room = three_in_a_room(profiles, carol)
    peer_says(carol, room, text)
    uid = signals.wait_for("MessageNew", room_message(room, text, "alice"))[0]
    bob_uid = signals.wait_for("MessageNew", room_message(room, text, "bob"))[0]
    return room, uid, bob_uid


def test_a_moderator_retracts_an_occupants_message(backend: BackendProcess, profiles: Profiles, carol: XmppPeer,
                                                   xmpp_server_name: str) -> None:
    client, signals = profiles
    room, uid, bob_uid = a_room_with_carol(profiles, carol, "buy cheap stuff")
    if xmpp_server_name == "ejabberd":
        # ejabberd 23.01 advertises no XEP-0425 (it came with 23.04)
        with pytest.raises(errors.NotSupported, match="XEP-0425"):
            client.muc_message_moderate(uid, "spam", "alice")
        return
    stanza_id = room_stanza_id(carol, room, "buy cheap stuff")
    with pytest.raises(errors.PermissionDenied, match="^forbidden"):
        client.muc_message_moderate(bob_uid, "", "bob")                # a participant is no moderator
    with pytest.raises(errors.NotFound):
        client.muc_message_moderate("0" * 32, "", "alice")
    with pytest.raises(errors.InvalidArgument):
        client.muc_message_moderate(uid, "bad\x01", "alice")
    with pytest.raises(errors.InvalidArgument):
        client.muc_message_moderate(uid, "r" * 1025, "alice")

    result = sat(backend, "muc", "retract", uid, "--reason", "spam", "-p", "alice")   # the CLI
    assert result.returncode == 0, result.stderr
    announced = carol.wait_message(moderation_announced(room))      # v0.2.1, as this Prosody speaks
    assert announced.xml.find(f"{{{NS_FASTEN}}}apply-to").get("id") == stanza_id
    moderated = {"by": f"{room}/alice", "reason": "spam"}
    for who, message_uid in (("alice", uid), ("bob", bob_uid)):
        data = update(signals, message_uid, "retract", who)
        assert (data["by"], data["moderated"]) == (room, moderated)
    (row,) = [row for row in client.history_get(room, "", 0, True, "{}", "bob") if row[0] == bob_uid]
    extra = json.loads(row[7])
    assert row[4] == {} and extra["retracted"] and extra["moderated"] == moderated
    with pytest.raises(errors.Conflict):
        client.muc_message_moderate(uid, "", "alice")


def test_a_moderation_from_an_occupant_is_ignored(profiles: Profiles, carol: XmppPeer) -> None:
    """Only the room itself announces a moderation: the same elements sent by an
    occupant (both versions) change nothing."""
    client, signals = profiles
    room, uid, _ = a_room_with_carol(profiles, carol, "keep me")
    stanza_id = room_stanza_id(carol, room, "keep me")
    carol.send_message(room, mtype="groupchat", payloads=[
        f"<apply-to xmlns='{NS_FASTEN}' id='{stanza_id}'><moderated xmlns='{NS_MODERATE_0}' by='{room}/alice'>"
        f"<retract xmlns='{NS_RETRACT_0}'/><reason>forged</reason></moderated></apply-to>"])
    carol.send_message(room, mtype="groupchat", payloads=[
        f"<retract xmlns='{NS_RETRACT_1}' id='{stanza_id}'><moderated xmlns='{NS_MODERATE_1}' by='{room}/alice'/>"
        "<reason>forged</reason></retract>"])
    peer_says(carol, room, "after")                              # received, and so handled, after them
    signals.wait_for("MessageNew", room_message(room, "after", "alice"))
    assert updates_of(signals, uid) == []
    (row,) = [row for row in client.history_get(room, "", 0, True, "{}", "alice") if row[0] == uid]
    assert row[4] == {"": "keep me"} and "retracted" not in json.loads(row[7])


@pytest.mark.prosody_only("ejabberd 23.01 has no XEP-0425")
def test_a_moderation_while_away_is_applied_on_entering_again(profiles: Profiles, carol: XmppPeer) -> None:
    """bob was offline when alice moderated: entering again, what the room sends of what
    he missed (its discussion history and archive) brings the announcement, from the
    room itself, and bob's copy becomes a tombstone."""
    client, signals = profiles
    room = three_in_a_room(profiles, carol)
    peer_says(carol, room, "spam while you sleep")
    uid = signals.wait_for("MessageNew", room_message(room, "spam while you sleep", "alice"))[0]
    bob_uid = signals.wait_for("MessageNew", room_message(room, "spam while you sleep", "bob"))[0]
    client.disconnect("bob")
    client.muc_message_moderate(uid, "spam", "alice")
    assert update(signals, uid, "retract", "alice")["moderated"]["reason"] == "spam"
    client.connect("bob")
    data = update(signals, bob_uid, "retract", "bob")
    assert (data["by"], data["moderated"]) == (room, {"by": f"{room}/alice", "reason": "spam"})
