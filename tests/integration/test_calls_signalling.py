"""Call signalling between two profiles on a real Prosody (XEP-0166/0167/0176), without
media: offer, answer, trickled candidates and hang-up through the bridge, the media order
kept both ways; and what a raw peer (slixmpp, stanzas written by hand from the XEPs'
examples) gets for an unknown session, a hijack attempt and a call from a stranger."""

from __future__ import annotations

import json
import queue
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any, Iterator

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from sat_backend.plugins.jingle.model import Transport
from sat_backend.plugins.jingle.sdp import parse_sdp, serialise_sdp
from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer
from tests.integration.test_messaging import carol  # noqa: F401 - a raw peer in nobody's roster, without Jingle
from tests.integration.xmpp_helpers import connect_contacts
from tests.unit.sdp_samples import AUDIO_FIRST_OFFER, VIDEO_FIRST_ANSWER, VIDEO_FIRST_OFFER

NS_JINGLE = "urn:xmpp:jingle:1"
CALL_SIGNALS = ("CallIncoming", "CallProposed", "CallAnswered", "CallCandidates", "CallState")
#: a host candidate as a frontend trickles it (generation written: the Jingle round trip adds it)
CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0"
OTHER_CANDIDATE = "candidate:2 1 udp 2130706431 127.0.0.1 40002 typ host generation 0"


class Parties:
    """The bridge client, the call signals, and the full JIDs of alice and bob."""

    def __init__(self, client: BridgeClient, signals: SignalRecorder, jids: dict[str, str]) -> None:
        self.client, self.signals, self.jids = client, signals, jids

    def wait(self, name: str, sid: str, profile: str, **expected: Any) -> tuple[Any, ...]:
        """The next ``name`` signal of call ``sid`` for ``profile`` (state/reason if given)."""
        def matches(*args: Any) -> bool:
            if args[0] != sid or args[-1] != profile:
                return False
            return name != "CallState" or (args[1], args[2]) == (expected["state"], expected.get("reason", ""))

        return self.signals.wait_for(name, matches)

    def call_in_history(self, sid: str, profile: str, between: tuple[str, str] | None = None) -> dict[str, Any]:
        """``extra.call`` of the history entry of call ``sid`` (announced by ``MessageNew``,
        then read back with ``HistoryGet``), from caller to callee (``between``: alice's
        and bob's full JIDs unless given)."""
        self.signals.wait_for("MessageNew", lambda *args: json.loads(args[7]).get("call", {}).get("sid") == sid
                              and args[-1] == profile)
        rows = [row for row in self.client.history_get("", "", 0, False, "{}", profile)
                if json.loads(row[7]).get("call", {}).get("sid") == sid]
        assert len(rows) == 1 and rows[0][4] == {}
        caller, callee = rows[0][2:4]
        call: dict[str, Any] = json.loads(rows[0][7])["call"]
        assert (caller, callee) == (between or (self.jids["alice"], self.jids["bob"]))
        return call


@pytest.fixture
def parties(backend: BackendProcess, fresh_prosody: ProsodyServer) -> Iterator[Parties]:
    """alice and bob connected, each in the other's roster."""
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, "Connected", "ContactNew", "MessageNew", *CALL_SIGNALS)
    jids = connect_contacts(client, fresh_prosody, signals)
    yield Parties(client, signals, jids)
    for user in ("alice", "bob"):
        client.disconnect(user)


def kinds(sdp: str) -> list[str]:
    return [media.kind for media in parse_sdp(sdp).media]


def answer_to(offer: str) -> str:
    """An answer a media engine could give to ``offer``: its sections, our own ICE
    credentials and the active DTLS role, no candidate (they are trickled)."""
    description = parse_sdp(offer)
    fingerprints = next(m.transport.over(description.transport).fingerprints for m in description.media)
    transport = Transport(ice_ufrag="Bob1", ice_pwd="bobsecretpasswordfor1ce", fingerprints=fingerprints, setup="active")
    media = tuple(replace(m, transport=transport, candidates=()) for m in description.media)
    return serialise_sdp(replace(description, media=media, transport=Transport()))


def call_and_hang_up(parties: Parties, offer: str, answer: str, carol: XmppPeer | None = None) -> None:
    client, alice, bob = parties.client, parties.jids["alice"], parties.jids["bob"]
    sid = client.call_start(bob, offer, "alice")
    parties.wait("CallState", sid, "alice", state="ringing")
    _, caller, incoming_offer, media, _ = parties.wait("CallIncoming", sid, "bob")
    assert caller == alice
    assert media == kinds(offer) == kinds(incoming_offer)
    assert parse_sdp(incoming_offer).mids == parse_sdp(offer).mids
    assert parse_sdp(incoming_offer).groups == parse_sdp(offer).groups

    client.call_answer(sid, answer, "bob")
    parties.wait("CallState", sid, "bob", state="active")
    answered = parties.wait("CallAnswered", sid, "alice")[1]
    parties.wait("CallState", sid, "alice", state="active")
    assert kinds(answered) == kinds(offer)
    assert parse_sdp(answered).group("BUNDLE") == parse_sdp(offer).group("BUNDLE")

    if carol is not None:  # someone else's session-terminate with the real sid: not theirs
        assert jingle_error(carol, alice, terminate(sid)) == ("item-not-found", "unknown-session")

    first, second = parse_sdp(offer).mids
    client.call_candidates_add(sid, {first: [CANDIDATE]}, "alice")
    assert parties.wait("CallCandidates", sid, "bob")[1] == {first: [CANDIDATE]}
    client.call_candidates_add(sid, {second: [OTHER_CANDIDATE], first: [CANDIDATE]}, "bob")
    assert parties.wait("CallCandidates", sid, "alice")[1] == {second: [OTHER_CANDIDATE], first: [CANDIDATE]}

    client.call_end(sid, "", "alice")
    parties.wait("CallState", sid, "alice", state="ended", reason="success")
    parties.wait("CallState", sid, "bob", state="ended", reason="success")
    with pytest.raises(errors.NotFound):
        client.call_candidates_add(sid, {first: [CANDIDATE]}, "bob")
    for profile, direction in (("alice", "outgoing"), ("bob", "incoming")):
        call = parties.call_in_history(sid, profile)
        assert (call["direction"], call["state"], call["reason"]) == (direction, "answered", "success")
        assert call["media"] == kinds(offer) and call["duration"] >= 0


def test_video_first_call(parties: Parties, carol: XmppPeer) -> None:
    call_and_hang_up(parties, VIDEO_FIRST_OFFER, VIDEO_FIRST_ANSWER, carol)


def test_audio_first_call(parties: Parties) -> None:
    call_and_hang_up(parties, AUDIO_FIRST_OFFER, answer_to(AUDIO_FIRST_OFFER))


def test_callee_declines(parties: Parties) -> None:
    client = parties.client
    sid = client.call_start(parties.jids["bob"], AUDIO_FIRST_OFFER, "alice")
    parties.wait("CallIncoming", sid, "bob")
    client.call_end(sid, "decline", "bob")
    parties.wait("CallState", sid, "alice", state="ended", reason="decline")
    with pytest.raises(errors.NotFound):
        client.call_answer(sid, answer_to(AUDIO_FIRST_OFFER), "bob")
    outgoing, incoming = parties.call_in_history(sid, "alice"), parties.call_in_history(sid, "bob")
    assert (outgoing["state"], outgoing["reason"], outgoing["duration"]) == ("rejected", "decline", 0)
    assert (incoming["direction"], incoming["state"], incoming["reason"]) == ("incoming", "rejected", "decline")


def test_a_lost_stream_ends_its_calls(parties: Parties) -> None:
    client = parties.client
    sid = client.call_start(parties.jids["bob"], VIDEO_FIRST_OFFER, "alice")
    parties.wait("CallIncoming", sid, "bob")
    client.call_answer(sid, VIDEO_FIRST_ANSWER, "bob")
    parties.wait("CallState", sid, "bob", state="active")
    client.disconnect("bob")
    parties.wait("CallState", sid, "bob", state="ended", reason="connectivity-error")
    call = parties.call_in_history(sid, "bob")
    assert (call["state"], call["reason"]) == ("answered", "connectivity-error")
    # bob's server tells alice his device went offline: her side of the call ends too
    parties.wait("CallState", sid, "alice", state="ended", reason="gone")
    call = parties.call_in_history(sid, "alice")
    assert (call["direction"], call["state"], call["reason"]) == ("outgoing", "answered", "gone")
    client.connect("bob")
    for profile in ("alice", "bob"):
        with pytest.raises(errors.NotFound):
            client.call_end(sid, "", profile)


@pytest.mark.parametrize("callee_leaves", [True, False], ids=["callee leaves", "caller leaves"])
def test_a_ringing_call_ends_when_the_peer_goes_offline(parties: Parties, callee_leaves: bool) -> None:
    """Nobody answered yet; one side goes offline: the other's call ends with ``gone``
    (the caller's is ``unanswered``, the callee's ``missed``), nothing left open."""
    client = parties.client
    sid = client.call_start(parties.jids["bob"], AUDIO_FIRST_OFFER, "alice")
    parties.wait("CallIncoming", sid, "bob")
    parties.wait("CallState", sid, "alice", state="ringing")
    leaving, staying = ("bob", "alice") if callee_leaves else ("alice", "bob")
    client.disconnect(leaving)
    parties.wait("CallState", sid, staying, state="ended", reason="gone")
    call = parties.call_in_history(sid, staying)
    assert (call["state"], call["reason"], call["duration"]) == (
        ("unanswered" if staying == "alice" else "missed"), "gone", 0)
    with pytest.raises(errors.NotFound):
        client.call_end(sid, "", staying)
    client.connect(leaving)


# raw peer ----------------------------------------------------------------------------------


def terminate(sid: str) -> str:
    return f"<jingle xmlns='{NS_JINGLE}' action='session-terminate' sid='{sid}'><reason><success/></reason></jingle>"


def jingle_error(peer: XmppPeer, to: str, jingle_xml: str) -> tuple[str, str] | None:
    """Send a raw Jingle IQ; None for a result, else (condition, Jingle error condition or "")."""
    async def request(xmpp: Any) -> tuple[str, str] | None:
        iq = xmpp.make_iq_set(ito=to)
        iq.append(ET.fromstring(jingle_xml))
        try:
            await iq.send(timeout=peer.timeout)
        except IqError as exc:
            error = exc.iq.xml.find("{jabber:client}error")
            specific = [child.tag for child in error if child.tag.startswith("{urn:xmpp:jingle:errors:1}")]
            return str(exc.iq["error"]["condition"]), specific[0].split("}")[1] if specific else ""
        return None

    return peer.call(request)


def test_unknown_session_is_item_not_found(parties: Parties, carol: XmppPeer) -> None:
    alice = parties.jids["alice"]
    transport_info = (
        f"<jingle xmlns='{NS_JINGLE}' action='transport-info' sid='nope'>"
        "<content creator='initiator' name='0'>"
        "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'>"
        "<candidate component='1' foundation='1' generation='0' id='el0747fg11' ip='10.0.1.1' network='1'"
        " port='8998' priority='2130706431' protocol='udp' type='host'/></transport></content></jingle>"
    )
    for jingle in (transport_info, terminate("nope"),
                   f"<jingle xmlns='{NS_JINGLE}' action='session-accept' sid='nope' responder='{carol.jid}'/>"):
        assert jingle_error(carol, alice, jingle) == ("item-not-found", "unknown-session")
    with pytest.raises(errors.NotFound):  # nothing was stored
        parties.client.call_end("nope", "", "alice")


#: XEP-0167 §3's audio offer, reduced (the peer is not in the callee's roster)
STRANGER_INITIATE = (
    f"<jingle xmlns='{NS_JINGLE}' action='session-initiate' initiator='{{initiator}}' sid='a73sjjvkla37jfea'>"
    "<content creator='initiator' name='voice'>"
    "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>"
    "<payload-type id='96' name='speex' clockrate='16000'/><payload-type id='0' name='PCMU'/></description>"
    "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'/>"
    "</content></jingle>"
)


def jingle_requests(peer: XmppPeer) -> queue.Queue[ET.Element]:
    """The ``<jingle/>`` of every Jingle IQ ``peer`` receives from now on (each acknowledged)."""
    received: queue.Queue[ET.Element] = queue.Queue()

    def on_jingle(iq: Any) -> None:
        if iq["type"] == "set":  # not an error answer echoing our own request
            received.put(iq.xml.find(f"{{{NS_JINGLE}}}jingle"))
            iq.reply().send()

    peer.xmpp.register_handler(Callback("jingle", MatchXPath(f"{{jabber:client}}iq/{{{NS_JINGLE}}}jingle"), on_jingle))
    return received


def assert_terminated(received: queue.Queue[ET.Element], sid: str, reason: str) -> None:
    terminated = received.get(timeout=15)
    assert (terminated.get("action"), terminated.get("sid")) == ("session-terminate", sid)
    assert terminated.find(f"{{{NS_JINGLE}}}reason/{{{NS_JINGLE}}}{reason}") is not None


def test_stranger_is_declined(parties: Parties, carol: XmppPeer) -> None:
    received = jingle_requests(carol)
    assert jingle_error(carol, parties.jids["bob"], STRANGER_INITIATE.format(initiator=carol.jid)) is None
    assert_terminated(received, "a73sjjvkla37jfea", "decline")
    with pytest.raises(errors.NotFound):  # nothing was stored
        parties.client.call_answer("a73sjjvkla37jfea", answer_to(AUDIO_FIRST_OFFER), "bob")
    assert not [args for name, args in parties.signals.history if name == "CallIncoming"]


def test_refusals(parties: Parties, carol: XmppPeer) -> None:
    client, bob = parties.client, parties.jids["bob"]
    with pytest.raises(errors.InvalidArgument, match="SDP line"):
        client.call_start(bob, "v=0\r\nm=audio\r\n", "alice")
    with pytest.raises(errors.InvalidArgument, match="user's JID"):  # a bare JID is XEP-0353's
        client.call_start("localhost", AUDIO_FIRST_OFFER, "alice")
    with pytest.raises(errors.NotSupported):
        client.call_start(carol.jid, AUDIO_FIRST_OFFER, "alice")
    with pytest.raises(errors.NotFound):
        client.call_answer("unknown", answer_to(AUDIO_FIRST_OFFER), "bob")

    sid = client.call_start(bob, AUDIO_FIRST_OFFER, "alice")
    parties.wait("CallIncoming", sid, "bob")
    with pytest.raises(errors.InvalidArgument, match="SDP line"):
        client.call_answer(sid, "v=0\r\nbogus\r\n", "bob")
    with pytest.raises(errors.InvalidArgument):  # an answer whose sections the offer lacks
        client.call_answer(sid, answer_to(VIDEO_FIRST_OFFER).replace("a=mid:1", "a=mid:7")
                           .replace("BUNDLE 0 1", "BUNDLE 0 7"), "bob")
    with pytest.raises(errors.Conflict):  # the caller cannot answer its own call
        client.call_answer(sid, answer_to(AUDIO_FIRST_OFFER), "alice")
    for candidates in ({"0": ["candidate:x"]}, {"9": [CANDIDATE]}, {"0": []}):
        with pytest.raises(errors.InvalidArgument):
            client.call_candidates_add(sid, candidates, "alice")
    with pytest.raises(errors.InvalidArgument):
        client.call_end(sid, "no-such-reason", "alice")
    client.call_end(sid, "", "alice")
    parties.wait("CallState", sid, "bob", state="ended", reason="cancel")


def test_contact_with_its_own_stanzas_rings_until_busy(parties: Parties, carol: XmppPeer) -> None:
    """carol, now in bob's roster, calls with XEP-0167's example offer: bob's frontend gets
    it as SDP; a ninth call at once is told busy, the same sid twice is out of order."""
    client, bob = parties.client, parties.jids["bob"]
    client.contact_add("carol@localhost", "bob")
    parties.signals.wait_for("ContactNew", lambda jid, *rest: jid == "carol@localhost" and rest[-1] == "bob")
    received = jingle_requests(carol)
    sids = [f"carol-call-{number}" for number in range(9)]
    for sid in sids[:8]:
        initiate = STRANGER_INITIATE.format(initiator=carol.jid).replace("a73sjjvkla37jfea", sid)
        assert jingle_error(carol, bob, initiate) is None
        _, caller, offer, media, _ = parties.wait("CallIncoming", sid, "bob")
        assert (caller, media) == (carol.jid, ["audio"])
        described = parse_sdp(offer).media[0]
        assert (described.mid, [(p.id, p.name) for p in described.payload_types]) == ("voice", [(96, "speex"), (0, "")])
        assert (described.transport.ice_ufrag, described.direction) == ("8hhy", "sendrecv")
    again = STRANGER_INITIATE.format(initiator=carol.jid).replace("a73sjjvkla37jfea", sids[0])
    assert jingle_error(carol, bob, again) == ("unexpected-request", "out-of-order")  # XEP-0166 §8
    assert jingle_error(carol, bob, again.replace(sids[0], sids[8])) is None
    assert_terminated(received, sids[8], "busy")
    client.call_end(sids[0], "", "bob")
    assert_terminated(received, sids[0], "decline")


def test_strangers_may_call_when_the_profile_allows_it(parties: Parties, carol: XmppPeer) -> None:
    """``Calls/AcceptStrangers`` (false by default, see ``test_stranger_is_declined``):
    once bob sets it, carol, not in his roster, rings him both ways, Jingle and XEP-0353;
    alice's profile still refuses her."""
    client = parties.client
    assert client.param_get("Calls", "AcceptStrangers", "bob") == "false"
    client.param_set("Calls", "AcceptStrangers", "true", "bob")
    received = jingle_requests(carol)
    assert jingle_error(carol, parties.jids["bob"], STRANGER_INITIATE.format(initiator=carol.jid)) is None
    assert parties.wait("CallIncoming", "a73sjjvkla37jfea", "bob")[1] == carol.jid
    client.call_end("a73sjjvkla37jfea", "", "bob")
    assert_terminated(received, "a73sjjvkla37jfea", "decline")

    async def propose(xmpp: Any) -> None:
        for to in ("bob@localhost", "alice@localhost"):
            xmpp.send_raw(f"<message xmlns='jabber:client' to='{to}' type='chat'>"
                          f"<propose xmlns='urn:xmpp:jingle-message:0' id='stranger-{to[:3]}'>"
                          "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>")

    carol.call(propose)
    assert parties.wait("CallProposed", "stranger-bob", "bob")[1] == carol.jid
    assert jingle_error(carol, parties.jids["alice"], STRANGER_INITIATE.format(initiator=carol.jid)) is None
    assert_terminated(received, "a73sjjvkla37jfea", "decline")  # alice's profile did not allow it
    assert [args[0] for name, args in parties.signals.history if name == "CallProposed"] == ["stranger-bob"]
    client.param_set("Calls", "AcceptStrangers", "false", "bob")
    assert jingle_error(carol, parties.jids["bob"], STRANGER_INITIATE.format(initiator=carol.jid).replace(
        "a73sjjvkla37jfea", "after-the-change")) is None
    assert_terminated(received, "after-the-change", "decline")
    assert not [args for name, args in parties.signals.history if name == "CallIncoming" and args[0] == "after-the-change"]


def test_a_raw_peer_going_offline_ends_its_call(parties: Parties, carol: XmppPeer) -> None:
    """carol (slixmpp), in bob's roster, calls him and logs out while it rings: her server
    tells bob she is unavailable, and his side ends the call with ``gone``."""
    client, bob = parties.client, parties.jids["bob"]
    presences = SignalRecorder(client, "PresenceUpdate")
    client.contact_add("carol@localhost", "bob")  # slixmpp approves the subscription
    presences.wait_for("PresenceUpdate", lambda jid, show, *rest: jid == carol.jid and show == "" and rest[-1] == "bob")
    assert jingle_error(carol, bob, STRANGER_INITIATE.format(initiator=carol.jid)) is None
    parties.wait("CallIncoming", "a73sjjvkla37jfea", "bob")
    carol.disconnect()
    presences.wait_for("PresenceUpdate", lambda jid, show, *rest: jid == carol.jid and show == "unavailable")
    parties.wait("CallState", "a73sjjvkla37jfea", "bob", state="ended", reason="gone")
    call = parties.call_in_history("a73sjjvkla37jfea", "bob", between=(carol.jid, bob))
    assert (call["direction"], call["state"], call["reason"]) == ("incoming", "missed", "gone")
