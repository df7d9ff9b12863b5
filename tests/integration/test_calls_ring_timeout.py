"""``[calls] ring_timeout`` on a real Prosody, set to 1 s here: a call nobody answers ends
with reason ``timeout`` whichever way it rings (a Jingle ``session-initiate`` or a
XEP-0353 proposal, ours or a contact's), the peer is told as the XEPs say, and history
keeps it as ``unanswered`` for the caller and ``missed`` for the callee. The tests wait
on signals and stanzas, never on the clock."""

from __future__ import annotations

import json
import queue
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest

from sat_backend.plugins.jingle.sdp import parse_sdp
from sat_bridge import errors
from tests.fixtures.backend import BackendProcess, configured_backend
from tests.fixtures.xmpp_peer import XmppPeer
from tests.integration.test_calls_jingle_message import NS_JMI, jingle_messages, propose_stanza, send_raw
from tests.integration import test_calls_signalling as signalling
from tests.integration.test_calls_signalling import Parties, parties  # noqa: F401 - fixtures
from tests.integration.test_messaging import carol  # noqa: F401 - a raw peer
from tests.unit.sdp_samples import AUDIO_FIRST_OFFER, VIDEO_FIRST_OFFER

RING_TIMEOUT = 1


@pytest.fixture
def backend(backend_env: dict[str, str], tmp_path: Path) -> Iterator[BackendProcess]:
    """The backend with a ring timeout of :data:`RING_TIMEOUT` seconds (``parties`` uses it)."""
    with configured_backend(backend_env, tmp_path, f"[calls]\nring_timeout = {RING_TIMEOUT}\n") as process:
        yield process


def history_call(parties: Parties, sid: str, profile: str) -> tuple[str, str, dict[str, Any]]:
    """(from, to, ``extra.call``) of call ``sid``'s entry in ``profile``'s history."""
    parties.signals.wait_for("MessageNew", lambda *args: json.loads(args[7]).get("call", {}).get("sid") == sid
                             and args[-1] == profile)
    rows = [row for row in parties.client.history_get("", "", 0, False, "{}", profile)
            if json.loads(row[7]).get("call", {}).get("sid") == sid]
    assert len(rows) == 1
    return rows[0][2], rows[0][3], json.loads(rows[0][7])["call"]


def add_carol(parties: Parties, profile: str) -> None:
    parties.client.contact_add("carol@localhost", profile)
    parties.signals.wait_for("ContactNew", lambda jid, *rest: jid == "carol@localhost" and rest[-1] == profile)


def test_a_jingle_call_nobody_answers(parties: Parties) -> None:
    """alice calls bob's device; bob's frontend never answers: both sides end with
    ``timeout`` (whichever timer fires first, the other side hears it in the
    session-terminate); alice's entry is unanswered, bob's missed."""
    sid = parties.client.call_start(parties.jids["bob"], VIDEO_FIRST_OFFER, "alice")
    parties.wait("CallIncoming", sid, "bob")
    parties.wait("CallState", sid, "alice", state="ended", reason="timeout")
    parties.wait("CallState", sid, "bob", state="ended", reason="timeout")
    for profile, state in (("alice", "unanswered"), ("bob", "missed")):
        caller, callee, call = history_call(parties, sid, profile)
        assert (caller, callee) == (parties.jids["alice"], parties.jids["bob"])
        assert (call["state"], call["reason"], call["duration"], call["media"]) == (state, "timeout", 0,
                                                                                    ["video", "audio"])
    with pytest.raises(errors.NotFound):
        parties.client.call_end(sid, "", "bob")


def test_a_contacts_session_initiate_rings_until_the_timeout(parties: Parties, carol: XmppPeer) -> None:
    """carol (raw, XEP-0167's example offer) calls bob, who never answers: carol gets a
    session-terminate with ``<timeout/>``; bob's history says missed."""
    add_carol(parties, "bob")
    received = signalling.jingle_requests(carol)
    assert signalling.jingle_error(carol, parties.jids["bob"], signalling.STRANGER_INITIATE.format(initiator=carol.jid)) is None
    sid = "a73sjjvkla37jfea"
    parties.wait("CallIncoming", sid, "bob")
    parties.wait("CallState", sid, "bob", state="ended", reason="timeout")
    signalling.assert_terminated(received, sid, "timeout")
    caller, _, call = history_call(parties, sid, "bob")
    assert (caller, call["direction"], call["state"], call["reason"]) == (carol.jid, "incoming", "missed", "timeout")


def test_our_proposal_nobody_takes_is_retracted(parties: Parties, carol: XmppPeer) -> None:
    """alice rings carol's devices (XEP-0353); none proceeds: alice retracts with a
    ``<timeout/>`` reason, her history says unanswered."""
    messages = jingle_messages(carol)
    sid = parties.client.call_start("carol@localhost", AUDIO_FIRST_OFFER, "alice")
    assert messages.get(timeout=15).tag == f"{{{NS_JMI}}}propose"
    parties.wait("CallState", sid, "alice", state="ended", reason="timeout")
    retract = messages.get(timeout=15)
    assert (retract.tag, retract.get("id")) == (f"{{{NS_JMI}}}retract", sid)
    assert retract.find("{urn:xmpp:jingle:1}reason/{urn:xmpp:jingle:1}timeout") is not None
    caller, callee, call = history_call(parties, sid, "alice")
    assert (caller, callee) == (parties.jids["alice"], "carol@localhost")
    assert (call["direction"], call["state"], call["reason"], call["media"]) == (
        "outgoing", "unanswered", "timeout", [m.kind for m in parse_sdp(AUDIO_FIRST_OFFER).media])


def test_a_contacts_proposal_stops_ringing_here(parties: Parties, carol: XmppPeer) -> None:
    """carol's proposal rings bob's backend, nobody takes it: it stops ringing with
    ``timeout``, nothing is sent for it but the ``<ringing/>`` (carol's own timeout is
    hers), and bob's history says missed; answering it afterwards is NotFound."""
    add_carol(parties, "bob")
    answers: queue.Queue[ET.Element] = jingle_messages(carol)

    send_raw(carol, propose_stanza("bob@localhost", "unanswered-1"))
    parties.wait("CallProposed", "unanswered-1", "bob")
    parties.wait("CallState", "unanswered-1", "bob", state="ended", reason="timeout")
    caller, _, call = history_call(parties, "unanswered-1", "bob")
    assert (caller, call["state"], call["reason"], call["media"]) == (carol.jid, "missed", "timeout", ["audio"])
    with pytest.raises(errors.NotFound):
        parties.client.call_answer("unanswered-1", "", "bob")
    # a message from bob after the timeout is the barrier: bob's stanzas to carol keep their order
    parties.client.message_send(carol.jid, {"": "after the timeout"}, {}, "chat", "{}", "bob")
    carol.wait_message(lambda message: message["body"] == "after the timeout")
    sent = []
    while not answers.empty():
        sent.append(answers.get_nowait())
    assert [(answer.tag, answer.get("id")) for answer in sent] == [(f"{{{NS_JMI}}}ringing", "unanswered-1")]
