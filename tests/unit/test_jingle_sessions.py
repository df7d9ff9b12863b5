"""The session layer's pure pieces: the ``<jingle/>`` element of each action (XEP-0166
1.1.2), trickled candidates in a ``transport-info`` (XEP-0176 1.1.1), and the bounds of
the call table."""

from __future__ import annotations

from dataclasses import replace

import pytest
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument, NotFound
from sat_backend.core.xml_payloads import payload_element
from sat_backend.plugins.jingle.actions import (
    build_jingle,
    build_transport_info,
    parse_reason,
    parse_request,
    parse_transport_info,
)
from sat_backend.plugins.jingle.call_history import EndedCall, call_entry, call_state
from sat_backend.plugins.jingle.call_sessions import (
    MAX_SESSION_CANDIDATES,
    MAX_SESSIONS_PER_PROFILE,
    CallSession,
    CallTable,
)
from sat_backend.plugins.jingle.candidates import parse_candidate
from sat_backend.plugins.jingle.model import Transport
from sat_backend.plugins.jingle.sdp import parse_sdp
from tests.unit.sdp_samples import AUDIO_FIRST_OFFER

NS = "urn:xmpp:jingle:1"
UDP = parse_candidate("candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host")
TCP = parse_candidate("candidate:2 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active")


def parse(xml: str) -> domish.Element:
    """A ``<jingle/>`` element written by a peer (namespace given here)."""
    return payload_element(xml if "xmlns=" in xml.split(">", 1)[0] else xml.replace("<jingle ", f"<jingle xmlns='{NS}' ", 1))


def test_terminate_with_reason_is_the_xep_example() -> None:
    jingle = build_jingle("session-terminate", "a73sjjvkla37jfea", reason="success")
    assert jingle.toXml() == (
        f"<jingle xmlns='{NS}' action='session-terminate' sid='a73sjjvkla37jfea'>"
        "<reason><success/></reason></jingle>"
    )
    assert parse_reason(jingle) == "success"


@pytest.mark.parametrize(("reason_xml", "expected"), [
    ("", None),
    ("<reason><decline/><text>not now</text></reason>", "decline"),
    ("<reason><text>only text</text></reason>", "general-error"),
    ("<reason><made-up/></reason>", "general-error"),
])
def test_reason_of_a_peer(reason_xml: str, expected: str | None) -> None:
    jingle = parse(f"<jingle action='session-terminate' sid='s1'>{reason_xml}</jingle>")
    assert parse_request(jingle).reason == expected


@pytest.mark.parametrize("attributes", ["action='session-accept'", "sid='s1'", "action='x' sid='a b'"])
def test_request_without_action_or_valid_sid_is_refused(attributes: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_request(parse(f"<jingle {attributes}/>"))


def test_transport_info_round_trip_with_credentials() -> None:
    credentials = Transport(ice_ufrag="Fq4N", ice_pwd="7Q8mLgFnBmVIk3KPwA/sDhJb")
    jingle = build_transport_info("s1", "initiator", {"1": (UDP, TCP), "0": (UDP,)}, {"1": credentials})
    contents = list(jingle.elements(NS, "content"))
    assert [content["name"] for content in contents] == ["1", "0"]
    transport = next(contents[0].elements())
    assert (transport["ufrag"], transport["pwd"]) == ("Fq4N", "7Q8mLgFnBmVIk3KPwA/sDhJb")
    assert not contents[1].firstChildElement().hasAttribute("ufrag")
    found = parse_transport_info(parse(jingle.toXml()))
    assert list(found) == ["1", "0"]  # order kept; ICE-TCP is not ICE-UDP's: left out
    assert [(c.address, c.port, c.protocol) for c in found["1"]] == [("192.0.2.1", 5000, "udp")]


def test_transport_info_refusals() -> None:
    with pytest.raises(InvalidArgument, match="content 1 has no ICE-UDP transport"):
        parse_transport_info(parse("<jingle action='transport-info' sid='s'><content name='0'/></jingle>"))
    many = "".join("<content name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>"
                   for _ in range(40))
    with pytest.raises(InvalidArgument, match="more than"):
        parse_transport_info(parse(f"<jingle action='transport-info' sid='s'>{many}</jingle>"))


def session(profile: str, sid: str) -> CallSession:
    offer = parse_sdp(AUDIO_FIRST_OFFER)
    return CallSession(profile, sid, "bob@localhost/x", "initiator", offer, offer, f"{profile}@localhost/y")


def test_calls_per_profile_are_bounded() -> None:
    table = CallTable()
    for number in range(MAX_SESSIONS_PER_PROFILE):
        assert table.has_room("alice")
        table.add(session("alice", str(number)))
    assert not table.has_room("alice") and table.has_room("bob")
    assert table.remove(table.require("alice", "0")) and table.has_room("alice")
    assert not table.remove(session("alice", "0"))  # already gone
    with pytest.raises(NotFound):
        table.require("alice", "0")
    assert len(table.of_profile("alice")) == MAX_SESSIONS_PER_PROFILE - 1
    assert table.of_profile("carol") == []


def test_candidates_per_call_are_bounded() -> None:
    call = session("alice", "s")
    call.count_candidates("received", MAX_SESSION_CANDIDATES)
    call.count_candidates("sent", 1)
    with pytest.raises(InvalidArgument, match="candidates received"):
        call.count_candidates("received", 1)


def test_a_call_in_history() -> None:
    call = session("alice", "s1")
    call.started_at = 1000.0
    entry = call_entry(call, "cancel", 1030.0)
    assert (entry.from_jid.full(), entry.to_jid.full(), entry.timestamp) == ("alice@localhost/y", "bob@localhost/x", 1000.0)
    assert entry.bodies == {} and entry.extra == {"call": {
        "sid": "s1", "direction": "outgoing", "state": "unanswered", "reason": "cancel", "duration": 0.0,
        "media": ["audio", "video"]}}
    call.answered_at = 1010.0
    assert call_entry(call, "success", 1030.5).extra["call"] == entry.extra["call"] | {
        "state": "answered", "reason": "success", "duration": 20.5}
    incoming = replace(session("bob", "s2"), role="responder", peer="alice@localhost/y")
    missed = call_entry(incoming, "cancel", 1.0)
    assert (missed.from_jid.full(), missed.to_jid.full()) == ("alice@localhost/y", "bob@localhost/y")
    assert (missed.extra["call"]["direction"], missed.extra["call"]["state"]) == ("incoming", "missed")


@pytest.mark.parametrize(("outgoing", "answered", "reason", "state"), [
    (True, True, "success", "answered"),
    (False, True, "connectivity-error", "answered"),
    (True, False, "decline", "rejected"),
    (False, False, "decline", "rejected"),
    (True, False, "busy", "rejected"),
    (False, False, "rejected elsewhere", "rejected"),
    (False, False, "answered elsewhere", "elsewhere"),
    (True, False, "timeout", "unanswered"),
    (False, False, "timeout", "missed"),
    (True, False, "cancel", "unanswered"),
    (False, False, "cancel", "missed"),
])
def test_history_states(outgoing: bool, answered: bool, reason: str, state: str) -> None:
    assert call_state(outgoing, answered, reason) == state


def test_a_proposal_that_never_became_a_session_in_history() -> None:
    """XEP-0353: the callee's entry of a proposal, from the caller's full JID."""
    ended = EndedCall("s3", False, "bob@localhost/desk", "alice@localhost/y", ("video", "audio"), 5.0)
    entry = call_entry(ended, "answered elsewhere", 9.0)
    assert (entry.from_jid.full(), entry.to_jid.full(), entry.timestamp) == ("alice@localhost/y", "bob@localhost/desk", 5.0)
    assert entry.extra["call"] == {"sid": "s3", "direction": "incoming", "state": "elsewhere",
                                   "reason": "answered elsewhere", "duration": 0.0, "media": ["video", "audio"]}
