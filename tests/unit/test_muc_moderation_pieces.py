"""XEP-0425 stanzas, both versions: announcements parsed, requests built; who made a
change in a room."""

from __future__ import annotations

import pytest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from tx_xmpp.generic import parseXml

from sat_backend.core.im.message_changes import room_change_sender
from sat_backend.core.im.message_stanza import ChatMessage, MalformedStanza, MessageChange, parse_message_element
from sat_backend.memory.stored_message import StoredMessage
from sat_backend.plugins.muc.moderation import (
    NS_MODERATE_0, NS_MODERATE_1, moderation_request, moderation_version, parse_moderation,
)
from sat_backend.plugins.muc.stanzas import MAX_TEXT_LENGTH
from sat_backend.plugins.plugin_xep_0424 import parse_retraction

ROOM = "room@chat.localhost"
V0 = (f"<message xmlns='jabber:client' type='groupchat' from='{ROOM}'>"
      "<apply-to xmlns='urn:xmpp:fasten:0' id='sid-1'><moderated xmlns='urn:xmpp:message-moderate:0' "
      f"by='{ROOM}/mod'><retract xmlns='urn:xmpp:message-retract:0'/><reason>spam</reason></moderated>"
      "</apply-to></message>")
V1 = (f"<message xmlns='jabber:client' type='groupchat' from='{ROOM}'>"
      "<retract xmlns='urn:xmpp:message-retract:1' id='sid-1'><moderated xmlns='urn:xmpp:message-moderate:1' "
      f"by='{ROOM}/mod'><occupant-id xmlns='urn:xmpp:occupant-id:0' id='x'/></moderated>"
      "<reason>spam</reason></retract><body>fallback</body></message>")


def element(xml: str) -> domish.Element:
    parsed: domish.Element = parseXml(xml.encode())
    return parsed


@pytest.mark.parametrize("xml", [V0, V1])
def test_announcements_of_both_versions(xml: str) -> None:
    change = parse_moderation(element(xml))
    assert change is not None
    assert (change.kind, change.reference_id, change.data) == (
        "moderate", "sid-1", {"by": f"{ROOM}/mod", "reason": "spam"})


def test_what_is_not_a_moderation() -> None:
    plain = "<message xmlns='jabber:client'><retract xmlns='urn:xmpp:message-retract:1' id='a'/></message>"
    assert parse_moderation(element(plain)) is None                       # a XEP-0424 retraction
    other = V0.replace("<retract xmlns='urn:xmpp:message-retract:0'/>", "")
    assert parse_moderation(element(other)) is None                       # v0.2: not a retraction
    with pytest.raises(MalformedStanza):
        parse_moderation(element(V1.replace(" id='sid-1'", "")))
    odd = parse_moderation(element(V0.replace(f"by='{ROOM}/mod'", "by='@@'").replace(
        "spam", "r" * (MAX_TEXT_LENGTH + 10))))
    assert odd is not None and odd.data["by"] == "" and len(odd.data["reason"]) == MAX_TEXT_LENGTH


def test_a_v1_announcement_is_a_moderation_before_a_retraction() -> None:
    """Registered first, the moderation parser takes the ``<retract/>`` XEP-0424's would."""
    parsed = parse_message_element(element(V1), JID("alice@localhost/x"), [parse_moderation, parse_retraction])
    assert parsed is not None and parsed.change is not None and parsed.change.kind == "moderate"


def test_requests_use_the_newest_version_offered() -> None:
    assert moderation_version(frozenset({NS_MODERATE_0, NS_MODERATE_1})) == NS_MODERATE_1
    assert moderation_version(frozenset({NS_MODERATE_0})) == NS_MODERATE_0
    assert moderation_version(frozenset()) is None
    v1 = moderation_request(NS_MODERATE_1, "sid-1", "spam")
    assert (v1.uri, v1.name, v1["id"]) == (NS_MODERATE_1, "moderate", "sid-1")
    assert [(child.uri, child.name, str(child)) for child in v1.elements()] == [
        ("urn:xmpp:message-retract:1", "retract", ""), (NS_MODERATE_1, "reason", "spam")]
    v0 = moderation_request(NS_MODERATE_0, "sid-1", "")
    assert (v0.uri, v0.name, v0["id"]) == ("urn:xmpp:fasten:0", "apply-to", "sid-1")
    (moderate,) = v0.elements()
    assert [(child.uri, child.name) for child in moderate.elements()] == [("urn:xmpp:message-retract:0", "retract")]


def test_who_made_a_change_in_a_room() -> None:
    """The core's rules for changes in rooms (XEP-0045: everyone shares the room's JID)."""
    theirs = StoredMessage("m1", 0.0, ROOM, "alice@localhost", "groupchat", extra={"occupant_id": "carol"})
    ours = StoredMessage("m2", 0.0, ROOM, ROOM, "groupchat")
    private = StoredMessage("m3", 0.0, ROOM, "alice@localhost", "chat")

    def change(kind: str, sender: str, **extra: str) -> ChatMessage:
        return ChatMessage(uid="x", timestamp=0.0, from_jid=JID(sender), to_jid=JID("alice@localhost/x"),
                           bodies={}, subjects={}, type="groupchat", extra=dict(extra),
                           change=MessageChange(kind, "ref"))

    carol, dave = f"{ROOM}/carol", f"{ROOM}/dave"
    assert room_change_sender("p", change("edit", carol, occupant_id="carol"), theirs) == ROOM
    assert room_change_sender("p", change("edit", dave, occupant_id="dave"), theirs) is None      # not the author
    assert room_change_sender("p", change("retract", carol), theirs) is None                      # no occupant-id
    assert room_change_sender("p", change("retract", carol, occupant_id="carol"), ours) is None   # ours: done
    assert room_change_sender("p", change("reactions", carol, reactor="occupant-id:carol"), ours) \
        == "occupant-id:carol"
    assert room_change_sender("p", change("reactions", carol), theirs) is None                    # who? unknown
    assert room_change_sender("p", change("moderate", ROOM), ours) == ROOM
    assert room_change_sender("p", change("moderate", carol), theirs) is None                     # an occupant
    assert room_change_sender("p", change("reactions", carol, reactor="x"), private) is None      # a private one
