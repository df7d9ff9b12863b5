"""XEP-0353 Jingle Message Initiation, the caller's side, on a real Prosody: alice's
backend calls carol's *bare* JID; carol is a raw slixmpp device that answers with
stanzas written from XEP-0353 v0.8.0's examples (§3). A proceed starts the Jingle session
with the device that sent it; a reject, or our retract, ends the proposal."""

from __future__ import annotations

import queue
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from sat_bridge import errors
from tests.fixtures.xmpp_peer import XmppPeer
from tests.integration.test_calls_signalling import (  # noqa: F401 - fixtures
    Parties,
    answer_to,
    assert_terminated,
    jingle_requests,
    parties,
)
from tests.integration.test_messaging import carol  # noqa: F401 - the callee's device, raw
from tests.unit.sdp_samples import VIDEO_FIRST_OFFER

NS_JMI = "urn:xmpp:jingle-message:0"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"


def jingle_messages(peer: XmppPeer) -> queue.Queue[ET.Element]:
    """The XEP-0353 child of every message ``peer`` receives from now on."""
    received: queue.Queue[ET.Element] = queue.Queue()

    def on_message(message: Any) -> None:
        for child in message.xml:
            if child.tag.startswith(f"{{{NS_JMI}}}"):
                received.put(child)

    peer.xmpp.register_handler(Callback("jmi", MatchXPath("{jabber:client}message"), on_message))
    return received


def send_jingle_message(peer: XmppPeer, to: str, name: str, sid: str) -> None:
    async def send(xmpp: Any) -> None:
        xmpp.send_raw(f"<message xmlns='jabber:client' to='{to}' type='chat' id='m-{name}-{sid}'>"
                      f"<{name} xmlns='{NS_JMI}' id='{sid}'/><store xmlns='urn:xmpp:hints'/></message>")

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


def test_retract_before_an_answer(parties: Parties, carol: XmppPeer) -> None:
    messages = jingle_messages(carol)
    sid = proposed(parties, messages)
    parties.client.call_end(sid, "", "alice")
    parties.wait("CallState", sid, "alice", state="ended", reason="cancel")
    retract = messages.get(timeout=15)
    assert (retract.tag, retract.get("id")) == (f"{{{NS_JMI}}}retract", sid)
    send_jingle_message(carol, parties.jids["alice"], "proceed", sid)  # too late: ignored
    with pytest.raises(errors.NotFound):
        parties.client.call_end(sid, "", "alice")


def test_reject_ends_the_proposal(parties: Parties, carol: XmppPeer) -> None:
    messages = jingle_messages(carol)
    sid = proposed(parties, messages)
    send_jingle_message(carol, parties.jids["alice"], "reject", sid)
    parties.wait("CallState", sid, "alice", state="ended", reason="decline")
    with pytest.raises(errors.NotFound):
        parties.client.call_answer(sid, answer_to(VIDEO_FIRST_OFFER), "alice")

