"""XEP-0353 Jingle Message Initiation on a real Prosody. Caller side: alice's backend
calls carol's *bare* JID; carol is a raw slixmpp device that answers with stanzas written
from XEP-0353 v0.8.0's examples (§3). Callee side: alice calls bob's bare JID, and both
bob's backend and bob's second device (raw slixmpp on bob's account) ring; the one that
proceeds gets the session, the other stops ("answered elsewhere", by carbons)."""

from __future__ import annotations

import json
import queue
import xml.etree.ElementTree as ET
from typing import Any, Iterator

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from sat_bridge import errors
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.test_calls_signalling import (  # noqa: F401 - fixtures
    STRANGER_INITIATE,
    Parties,
    answer_to,
    assert_terminated,
    jingle_error,
    jingle_requests,
    parties,
    terminate,
)
from tests.integration.test_messaging import carol  # noqa: F401 - the callee's device, raw
from tests.unit.sdp_samples import AUDIO_FIRST_OFFER, VIDEO_FIRST_OFFER

NS_JMI = "urn:xmpp:jingle-message:0"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_JINGLE = "urn:xmpp:jingle:1"


def reason_of(element: ET.Element) -> str | None:
    """The condition of a XEP-0353 element's Jingle ``<reason/>``."""
    conditions = [child.tag.split("}")[1] for child in element.findall(f"{{{NS_JINGLE}}}reason/*")
                  if child.tag != f"{{{NS_JINGLE}}}text"]
    return conditions[0] if conditions else None


def jingle_messages(peer: XmppPeer) -> queue.Queue[ET.Element]:
    """The XEP-0353 child of every message ``peer`` receives from now on."""
    received: queue.Queue[ET.Element] = queue.Queue()

    def on_message(message: Any) -> None:
        for child in message.xml:
            if child.tag.startswith(f"{{{NS_JMI}}}"):
                received.put(child)

    peer.xmpp.register_handler(Callback("jmi", MatchXPath("{jabber:client}message"), on_message))
    return received


def send_jingle_message(peer: XmppPeer, to: str, name: str, sid: str, reason: str | None = None) -> None:
    """A raw XEP-0353 message, with ``<reason/>`` as in v0.8.0's examples when given."""
    inside = f"<reason xmlns='{NS_JINGLE}'><{reason}/><text>{reason}</text></reason>" if reason else ""

    async def send(xmpp: Any) -> None:
        xmpp.send_raw(f"<message xmlns='jabber:client' to='{to}' type='chat' id='m-{name}-{sid}'>"
                      f"<{name} xmlns='{NS_JMI}' id='{sid}'>{inside}</{name}><store xmlns='urn:xmpp:hints'/></message>")

    peer.call(send)


def propose_stanza(to: str, sid: str, media: tuple[str, ...] = ("audio",)) -> str:
    """A raw ``<propose/>`` message (XEP-0353 §3.1), one description per media kind."""
    descriptions = "".join(f"<description xmlns='{NS_RTP}' media='{kind}'/>" for kind in media)
    return (f"<message xmlns='jabber:client' to='{to}' type='chat'>"
            f"<propose xmlns='{NS_JMI}' id='{sid}'>{descriptions}</propose></message>")


def send_raw(peer: XmppPeer, *stanzas: str) -> None:
    async def send(xmpp: Any) -> None:
        for stanza in stanzas:
            xmpp.send_raw(stanza)

    peer.call(send)


def proposed(parties: Parties, messages: queue.Queue[ET.Element]) -> str:
    """alice calls carol@localhost (bare): carol's device gets the propose, media in order."""
    sid = parties.client.call_start("carol@localhost", VIDEO_FIRST_OFFER, "alice")
    propose = messages.get(timeout=15)
    assert (propose.tag, propose.get("id")) == (f"{{{NS_JMI}}}propose", sid)
    assert [d.get("media") for d in propose.findall(f"{{{NS_RTP}}}description")] == ["video", "audio"]
    return sid


def test_proceed_starts_the_session_with_that_device(parties: Parties, carol: XmppPeer) -> None:
    messages, requests = jingle_messages(carol), jingle_requests(carol)
    sid = proposed(parties, messages)
    send_jingle_message(carol, parties.jids["alice"], "ringing", sid)
    parties.wait("CallState", sid, "alice", state="ringing")
    send_jingle_message(carol, parties.jids["alice"], "proceed", sid)
    initiate = requests.get(timeout=15)
    assert (initiate.get("action"), initiate.get("sid")) == ("session-initiate", sid)
    assert [c.get("name") for c in initiate.findall("{urn:xmpp:jingle:1}content")] == ["0", "1"]
    parties.client.call_end(sid, "", "alice")  # now a Jingle session: terminated, not retracted
    assert_terminated(requests, sid, "cancel")
    parties.wait("CallState", sid, "alice", state="ended", reason="cancel")
    finish = messages.get(timeout=15)  # XEP-0353 §3.6: the end, for every device of carol's
    assert (finish.tag, finish.get("id"), reason_of(finish)) == (f"{{{NS_JMI}}}finish", sid, "cancel")


def test_retract_before_an_answer(parties: Parties, carol: XmppPeer) -> None:
    messages = jingle_messages(carol)
    sid = proposed(parties, messages)
    parties.client.call_end(sid, "", "alice")
    parties.wait("CallState", sid, "alice", state="ended", reason="cancel")
    retract = messages.get(timeout=15)
    assert (retract.tag, retract.get("id"), reason_of(retract)) == (f"{{{NS_JMI}}}retract", sid, "cancel")
    send_jingle_message(carol, parties.jids["alice"], "proceed", sid)  # too late: ignored
    with pytest.raises(errors.NotFound):
        parties.client.call_end(sid, "", "alice")


def test_reject_ends_the_proposal(parties: Parties, carol: XmppPeer) -> None:
    messages = jingle_messages(carol)
    sid = proposed(parties, messages)
    send_jingle_message(carol, parties.jids["alice"], "reject", sid)  # no reason (before v0.7.0): decline
    parties.wait("CallState", sid, "alice", state="ended", reason="decline")
    with pytest.raises(errors.NotFound):
        parties.client.call_answer(sid, answer_to(VIDEO_FIRST_OFFER), "alice")
    sid = proposed(parties, messages)
    send_jingle_message(carol, parties.jids["alice"], "reject", sid, "busy")  # v0.8.0 §3.5's example
    parties.wait("CallState", sid, "alice", state="ended", reason="busy")
    call = history_call(parties, sid, "alice")
    assert (call["direction"], call["state"], call["reason"]) == ("outgoing", "rejected", "busy")



# the callee's side: bob's backend and a second device of bob (raw) ------------------------


@pytest.fixture
def bobs_phone(parties: Parties, fresh_prosody: ProsodyServer) -> Iterator[XmppPeer]:
    """bob's second device: a raw slixmpp client logged in to bob's account."""
    peer = connected_peer(fresh_prosody, "bob", XMPP_ACCOUNTS["bob"])
    yield peer
    peer.disconnect()


def rings_both(parties: Parties, phone_messages: queue.Queue[ET.Element]) -> str:
    """alice calls bob@localhost: bob's backend (CallProposed) and bob's phone both ring."""
    sid = parties.client.call_start("bob@localhost", VIDEO_FIRST_OFFER, "alice")
    _, caller, media, _ = parties.wait("CallProposed", sid, "bob")
    assert (caller, media) == (parties.jids["alice"], ["video", "audio"])
    propose = phone_messages.get(timeout=15)
    assert (propose.tag, propose.get("id")) == (f"{{{NS_JMI}}}propose", sid)
    parties.wait("CallState", sid, "alice", state="ringing")  # bob's backend said <ringing/>
    return sid


def test_callee_answers_here_with_the_sdp_after_proceed(parties: Parties, bobs_phone: XmppPeer) -> None:
    sid = rings_both(parties, jingle_messages(bobs_phone))
    parties.client.call_answer(sid, "", "bob")  # <proceed/>: alice's session-initiate follows
    _, caller, offer, media, _ = parties.wait("CallIncoming", sid, "bob")
    assert (caller, media) == (parties.jids["alice"], ["video", "audio"])
    parties.client.call_answer(sid, answer_to(offer), "bob")
    parties.wait("CallState", sid, "bob", state="active")
    parties.wait("CallAnswered", sid, "alice")
    parties.client.call_end(sid, "", "bob")
    parties.wait("CallState", sid, "alice", state="ended", reason="success")


def test_another_device_answers_and_this_one_stops(parties: Parties, bobs_phone: XmppPeer) -> None:
    requests = jingle_requests(bobs_phone)
    sid = rings_both(parties, jingle_messages(bobs_phone))
    send_jingle_message(bobs_phone, parties.jids["alice"], "proceed", sid)
    parties.wait("CallState", sid, "bob", state="ended", reason="answered elsewhere")  # by carbons
    assert parties.call_in_history(sid, "bob")["state"] == "elsewhere"
    initiate = requests.get(timeout=15)
    assert (initiate.get("action"), initiate.get("sid")) == ("session-initiate", sid)
    with pytest.raises(errors.NotFound):  # no longer ringing here
        parties.client.call_answer(sid, "", "bob")
    parties.client.call_end(sid, "", "alice")


def test_another_device_rejects_and_the_caller_retracts(parties: Parties, bobs_phone: XmppPeer) -> None:
    phone_messages = jingle_messages(bobs_phone)
    sid = rings_both(parties, phone_messages)
    send_jingle_message(bobs_phone, parties.jids["alice"], "reject", sid)
    parties.wait("CallState", sid, "bob", state="ended", reason="rejected elsewhere")
    parties.wait("CallState", sid, "alice", state="ended", reason="decline")

    sid = rings_both(parties, phone_messages)
    parties.client.call_end(sid, "", "alice")  # <retract/> before an answer
    parties.wait("CallState", sid, "bob", state="ended", reason="cancel")
    assert phone_messages.get(timeout=15).tag == f"{{{NS_JMI}}}retract"


def test_callee_rejects(parties: Parties) -> None:
    sid = parties.client.call_start("bob@localhost", AUDIO_FIRST_OFFER, "alice")
    parties.wait("CallProposed", sid, "bob")
    parties.client.call_end(sid, "", "bob")  # <reject/>
    parties.wait("CallState", sid, "bob", state="ended", reason="decline")
    parties.wait("CallState", sid, "alice", state="ended", reason="decline")


def test_another_account_cannot_take_a_proposal(parties: Parties, carol: XmppPeer, bobs_phone: XmppPeer) -> None:
    """bob's device proceeds with the sid of alice's call to carol: nothing starts; carol
    still can, afterwards."""
    messages, bob_requests, carol_requests = jingle_messages(carol), jingle_requests(bobs_phone), jingle_requests(carol)
    sid = proposed(parties, messages)
    send_jingle_message(bobs_phone, parties.jids["alice"], "proceed", sid)
    send_jingle_message(bobs_phone, parties.jids["alice"], "reject", sid)
    send_jingle_message(carol, parties.jids["alice"], "proceed", sid)
    initiate = carol_requests.get(timeout=15)  # carol's proceed came after bob's, on the same server
    assert (initiate.get("action"), initiate.get("sid")) == ("session-initiate", sid)
    assert bob_requests.empty()
    parties.client.call_end(sid, "", "alice")


def test_callee_ignores_an_oversized_proposal(parties: Parties, carol: XmppPeer) -> None:
    """A contact's proposal with more than 32 media is dropped; the next good one rings
    (so the first was seen: both are checked before any await, in arrival order)."""
    parties.client.contact_add("carol@localhost", "bob")
    parties.signals.wait_for("ContactNew", lambda jid, *rest: jid == "carol@localhost" and rest[-1] == "bob")
    send_raw(carol, propose_stanza("bob@localhost", "too-many-media", ("audio",) * 33),
             propose_stanza("bob@localhost", "good", ("audio",) * 2))
    assert parties.wait("CallProposed", "good", "bob")[1:3] == (carol.jid, ["audio", "audio"])
    assert [args[0] for name, args in parties.signals.history if name == "CallProposed"] == ["good"]


def test_a_propose_of_another_namespace_is_a_plain_message(parties: Parties, carol: XmppPeer) -> None:
    """carol, bob's contact, rings once (so bob knows her), then sends a chat message
    carrying a ``<propose/>`` of another namespace, then real proposals: only the real
    ones ring; the message arrives as a chat message."""
    parties.client.contact_add("carol@localhost", "bob")
    parties.signals.wait_for("ContactNew", lambda jid, *rest: jid == "carol@localhost" and rest[-1] == "bob")
    answers = jingle_messages(carol)

    def ringing() -> str | None:
        answer = answers.get(timeout=15)
        assert answer.tag == f"{{{NS_JMI}}}ringing"
        return answer.get("id")

    send_raw(carol, propose_stanza("bob@localhost", "first"))
    parties.wait("CallProposed", "first", "bob")
    assert ringing() == "first"
    send_raw(carol, "<message xmlns='jabber:client' to='bob@localhost' type='chat' id='foreign-propose'>"
             "<body>not a call</body><propose xmlns='urn:example:other' id='foreign'>"
             f"<description xmlns='{NS_RTP}' media='audio'/></propose></message>", propose_stanza("bob@localhost", "good"))
    message = parties.signals.wait_for("MessageNew", lambda *args: args[-1] == "bob" and args[4] == {"": "not a call"})
    assert (message[2].split("/")[0], message[6]) == ("carol@localhost", "chat")
    parties.wait("CallProposed", "good", "bob")
    # the backend reads the roster (a database read) before ringing, so answers may come
    # out of order: one more proposal, sent once "good" rang, is the barrier
    answered = [ringing()]
    send_raw(carol, propose_stanza("bob@localhost", "last"))
    while answered[-1] != "last":
        answered.append(ringing())
    assert sorted(answered) == ["good", "last"]
    parties.wait("CallProposed", "last", "bob")
    assert [args[0] for name, args in parties.signals.history if name == "CallProposed"] == ["first", "good", "last"]


def history_call(parties: Parties, sid: str, profile: str) -> dict[str, Any]:
    """``extra.call`` of call ``sid`` in ``profile``'s history (announced by ``MessageNew``)."""
    return json.loads(parties.signals.wait_for(
        "MessageNew", lambda *args: json.loads(args[7]).get("call", {}).get("sid") == sid and args[-1] == profile)[7])["call"]


def test_a_contacts_proposal_rejected_or_retracted_with_reasons(parties: Parties, carol: XmppPeer) -> None:
    """bob rejects carol's proposal: the ``<reject/>`` carries a ``<decline/>`` reason,
    bob's history says rejected; carol's next proposal is retracted with a reason, which
    bob's ``CallState`` gives; history says missed."""
    parties.client.contact_add("carol@localhost", "bob")
    parties.signals.wait_for("ContactNew", lambda jid, *rest: jid == "carol@localhost" and rest[-1] == "bob")
    messages = jingle_messages(carol)
    send_raw(carol, propose_stanza("bob@localhost", "rejected-here"), propose_stanza("bob@localhost", "retracted-there"))
    parties.wait("CallProposed", "rejected-here", "bob")
    parties.wait("CallProposed", "retracted-there", "bob")
    parties.client.call_end("rejected-here", "", "bob")
    parties.wait("CallState", "rejected-here", "bob", state="ended", reason="decline")
    answers = [messages.get(timeout=15) for _ in range(3)]  # two <ringing/>, then the <reject/>
    assert [(a.tag.split("}")[1], a.get("id"), reason_of(a)) for a in answers][2] == ("reject", "rejected-here", "decline")
    assert (history_call(parties, "rejected-here", "bob")["state"]) == "rejected"

    send_jingle_message(carol, "bob@localhost", "retract", "retracted-there", "timeout")
    parties.wait("CallState", "retracted-there", "bob", state="ended", reason="timeout")
    call = history_call(parties, "retracted-there", "bob")
    assert (call["direction"], call["state"], call["reason"]) == ("incoming", "missed", "timeout")


def test_the_callee_finishes_the_session_that_followed_its_proceed(parties: Parties, carol: XmppPeer) -> None:
    """carol proposes, bob proceeds, carol's ``session-initiate`` follows; bob answers;
    carol hangs up: bob announces the end with ``<finish/>`` (reason success) to carol."""
    parties.client.contact_add("carol@localhost", "bob")
    parties.signals.wait_for("ContactNew", lambda jid, *rest: jid == "carol@localhost" and rest[-1] == "bob")
    messages, requests = jingle_messages(carol), jingle_requests(carol)
    sid = "a73sjjvkla37jfea"  # the sid of XEP-0167's example offer
    send_raw(carol, propose_stanza("bob@localhost", sid))
    parties.wait("CallProposed", sid, "bob")
    parties.client.call_answer(sid, "", "bob")
    answers = [messages.get(timeout=15) for _ in range(2)]
    assert [(a.tag.split("}")[1], a.get("id")) for a in answers] == [("ringing", sid), ("proceed", sid)]
    assert jingle_error(carol, parties.jids["bob"], STRANGER_INITIATE.format(initiator=carol.jid)) is None
    _, _, offer, _, _ = parties.wait("CallIncoming", sid, "bob")
    parties.client.call_answer(sid, answer_to(offer), "bob")
    accept = requests.get(timeout=15)
    assert (accept.get("action"), accept.get("sid")) == ("session-accept", sid)
    assert jingle_error(carol, parties.jids["bob"], terminate(sid)) is None
    parties.wait("CallState", sid, "bob", state="ended", reason="success")
    finish = messages.get(timeout=15)
    assert (finish.tag, finish.get("id"), reason_of(finish)) == (f"{{{NS_JMI}}}finish", sid, "success")
    call = history_call(parties, sid, "bob")
    assert (call["direction"], call["state"], call["reason"]) == ("incoming", "answered", "success")
