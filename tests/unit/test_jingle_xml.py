"""Typed session description ⇄ Jingle XML, checked against the XEPs' own examples
(compared as trees: attribute order ignored) and against malformed or hostile XML."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from lxml import etree
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.xml_payloads import payload_element
from sat_backend.plugins.jingle.ice_xml import build_candidate, parse_candidate_element
from sat_backend.plugins.jingle.jingle_xml import build_jingle_children, parse_jingle
from sat_backend.plugins.jingle.model import (
    Candidate,
    Fingerprint,
    Group,
    HeaderExtension,
    Media,
    PayloadType,
    RtcpFeedback,
    SessionDescription,
    Source,
    SourceGroup,
    Transport,
    Parameter,
)
from sat_backend.plugins.jingle.rtp_xml import build_description
from sat_backend.plugins.jingle.sdp import parse_sdp, serialise_sdp

from tests.unit.sdp_samples import AUDIO_FIRST_OFFER

_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


def tree(xml: str) -> tuple[Any, ...]:
    """An element as nested tuples: name, sorted attributes, stripped text, children."""
    return _node(etree.fromstring(xml.encode(), _PARSER))


def _node(element: etree._Element) -> tuple[Any, ...]:
    return (element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(), tuple(map(_node, element)))


def trees(elements: list[domish.Element]) -> list[tuple[Any, ...]]:
    return [tree(element.toXml()) for element in elements]


def jingle(children: str) -> str:
    return f"<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='a73sjjvkla37jfea'>{children}</jingle>"


def jingle_element(elements: list[domish.Element], sid: str = "a73sjjvkla37jfea") -> domish.Element:
    element = domish.Element(("urn:xmpp:jingle:1", "jingle"))
    element["sid"] = sid
    for child in elements:
        element.addChild(child)
    return element


#: XEP-0320 1.0.0 example 1 (session-initiate with a DTLS fingerprint), as a model
VOICE = Media(
    kind="audio",
    mid="voice",
    port=9,
    protocol="UDP/TLS/RTP/SAVPF",
    payload_types=(
        PayloadType(96, "speex", 16000),
        PayloadType(97, "speex", 8000),
        PayloadType(18, "G729"),
        PayloadType(103, "L16", 16000, 2),
        PayloadType(98, "x-ISAC", 8000),
    ),
    transport=Transport(
        "8hhy",
        "asd88fgpdd777uzjYhagZg",
        (Fingerprint("sha-256", "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2"),),
        "actpass",
    ),
    candidates=(
        Candidate("1", 1, "udp", 2130706431, "10.0.1.1", 8998, "host", generation=0, network=1, id="el0747fg11"),
        Candidate("2", 1, "udp", 1694498815, "192.0.2.3", 45664, "srflx", "10.0.1.1", 8998, 0, 1, id="y3s2b30v3r"),
    ),
    connection="IN IP4 0.0.0.0",
)
#: the XML of XEP-0320 example 1's content; ``senders='both'`` added (XEP-0166's default,
#: which we always write)
VOICE_XML = """
<content xmlns='urn:xmpp:jingle:1' creator='initiator' name='voice' senders='both'>
  <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>
    <payload-type id='96' name='speex' clockrate='16000'/>
    <payload-type id='97' name='speex' clockrate='8000'/>
    <payload-type id='18' name='G729'/>
    <payload-type id='103' name='L16' clockrate='16000' channels='2'/>
    <payload-type id='98' name='x-ISAC' clockrate='8000'/>
  </description>
  <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='asd88fgpdd777uzjYhagZg' ufrag='8hhy'>
    <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>
      02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2
    </fingerprint>
    <candidate component='1' foundation='1' generation='0' id='el0747fg11' ip='10.0.1.1' network='1'
               port='8998' priority='2130706431' protocol='udp' type='host'/>
    <candidate component='1' foundation='2' generation='0' id='y3s2b30v3r' ip='192.0.2.3' network='1'
               port='45664' priority='1694498815' protocol='udp' rel-addr='10.0.1.1' rel-port='8998' type='srflx'/>
  </transport>
</content>"""

def video(mid: str, *payload_types: PayloadType, protocol: str = "RTP/AVP", **fields: Any) -> Media:
    return Media(kind="video", mid=mid, port=9, protocol=protocol, payload_types=payload_types, **fields)


#: XEP-0339 1.0.1 §3 example
WEBCAM = video(
    "webcam",
    PayloadType(100, "VP8", 90000),
    source_groups=(SourceGroup("FID", (2301230316, 386328120)), SourceGroup("FID", (3139499595, 2613715171))),
    sources=tuple(
        Source(ssrc, (Parameter("cname", cname),))
        for ssrc, cname in (
            (2301230316, "T5qvrIZj42v//eYQ"),
            (386328120, "uEYgNtStZyTF74sM"),
            (3139499595, "re8jhxkly9bxzuxr"),
            (2613715171, "f83avsiw6n1m7vi"),
        )
    ),
    connection="IN IP4 0.0.0.0",
)
WEBCAM_DESCRIPTION_XML = """
<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>
  <payload-type id='100' name='VP8' clockrate='90000'/>
  <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'>
    <source ssrc='2301230316'/>
    <source ssrc='386328120'/>
  </ssrc-group>
  <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'>
    <source ssrc='3139499595'/>
    <source ssrc='2613715171'/>
  </ssrc-group>
  <source ssrc='2301230316' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'><parameter name='cname' value='T5qvrIZj42v//eYQ'/></source>
  <source ssrc='386328120' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'><parameter name='cname' value='uEYgNtStZyTF74sM'/></source>
  <source ssrc='3139499595' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'><parameter name='cname' value='re8jhxkly9bxzuxr'/></source>
  <source ssrc='2613715171' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'><parameter name='cname' value='f83avsiw6n1m7vi'/></source>
</description>"""


def test_content_matches_xep_0320_example() -> None:
    session = SessionDescription(media=(VOICE,))
    assert trees(build_jingle_children(session, "initiator")) == [tree(VOICE_XML)]


def test_xep_0320_example_reads_as_its_model() -> None:
    parsed = parse_jingle(payload_element(jingle(VOICE_XML)), "initiator")
    assert parsed.media == (VOICE,)
    assert parsed.origin.session_id.isdigit()


def test_description_matches_xep_0339_example() -> None:
    assert tree(build_description(WEBCAM, "initiator").toXml()) == tree(WEBCAM_DESCRIPTION_XML)


def test_group_matches_xep_0338_example() -> None:
    webcam = replace(WEBCAM, transport=VOICE.transport)
    session = SessionDescription(media=(VOICE, webcam), groups=(Group("BUNDLE", ("voice", "webcam")),))
    group, *contents = build_jingle_children(session, "initiator")
    assert tree(group.toXml()) == tree(
        """<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'>
             <content name='voice'/>
             <content name='webcam'/>
           </group>"""
    )
    assert [(content["creator"], content["name"]) for content in contents] == [("initiator", "voice"), ("initiator", "webcam")]
    assert parse_jingle(jingle_element([group, *contents]), "initiator").groups == session.groups


def test_feedback_matches_xep_0293_example() -> None:
    """XEP-0293 1.0.2 §5: ``a=rtcp-fb:* nack`` in the description, ``a=rtcp-fb:98 nack
    rpsi`` and ``trr-int 100`` in the payload type."""
    face = video(
        "face",
        PayloadType(98, "H263-1998", feedback=(RtcpFeedback("nack", "rpsi"),), trr_int=100),
        PayloadType(99, "H264"),
        protocol="RTP/AVPF",
        feedback=(RtcpFeedback("nack"),),
    )
    assert tree(build_description(face, "initiator").toXml()) == tree(
        """<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>
             <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>
             <payload-type id='98' name='H263-1998'>
               <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack' subtype='rpsi'/>
               <rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='100'/>
             </payload-type>
             <payload-type id='99' name='H264'/>
           </description>"""
    )
    lines = serialise_sdp(SessionDescription(media=(face,))).split("\r\n")
    assert ["a=rtcp-fb:* nack", "a=rtcp-fb:98 nack rpsi", "a=rtcp-fb:98 trr-int 100"] == [
        line for line in lines if line.startswith("a=rtcp-fb")
    ]


def test_header_extensions_match_xep_0294_example() -> None:
    """XEP-0294 1.1.2 §5: ``a=extmap:2/recvonly URI-gps-string`` maps to senders
    'initiator': the example's SDP reads as the responder's (it receives only)."""
    gps = video(
        "video",
        PayloadType(96, "THEORA", 90000),
        header_extensions=(
            HeaderExtension(1, "URI-toffset"),
            HeaderExtension(2, "URI-gps-string", "recvonly"),
            HeaderExtension(3, "URI-frametype"),
        ),
    )
    built = build_description(gps, "responder")
    assert tree(built.toXml()) == tree(
        """<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>
             <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' uri='URI-toffset'/>
             <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='2' uri='URI-gps-string' senders='initiator'/>
             <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='3' uri='URI-frametype'/>
             <payload-type id='96' name='THEORA' clockrate='90000'/>
           </description>"""
    )
    # the same SDP line written by the initiator: the responder is the one that sends
    assert 'senders="responder"' in build_description(gps, "initiator").toXml().replace("'", '"')


def test_sdp_candidates_get_stable_ids_and_tcp_ones_stay_out() -> None:
    session = parse_sdp(AUDIO_FIRST_OFFER)
    first = [content for content in build_jingle_children(session, "initiator") if content.name == "content"][0]
    again = [content for content in build_jingle_children(session, "initiator") if content.name == "content"][0]
    transport = next(first.elements("urn:xmpp:jingle:transports:ice-udp:1", "transport"))
    candidates = list(transport.elements("urn:xmpp:jingle:transports:ice-udp:1", "candidate"))
    assert [candidate["type"] for candidate in candidates] == ["host", "srflx"]  # the ICE-TCP one is left out
    assert len({candidate["id"] for candidate in candidates}) == 2
    assert first.toXml() == again.toXml()


def test_trickled_candidate_round_trip() -> None:
    candidate = Candidate("842163049", 1, "udp", 1686052607, "203.0.113.7", 46243, "srflx", "127.0.0.1", 46243, 0, 1)
    element = build_candidate(candidate, "0")
    assert parse_candidate_element(element) == replace(candidate, id=element["id"])


def content_with(description_children: str = "", transport_children: str = "", senders: str = "both") -> str:
    return jingle(
        f"""<content creator='initiator' name='0' senders='{senders}'>
              <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>
                <payload-type id='111' name='opus' clockrate='48000' channels='2'/>{description_children}
              </description>
              <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='Fq4N' pwd='7Q8mLgFnBmVIk3KPwA/sDhJb'>{transport_children}</transport>
            </content>"""
    )


def refused(element: domish.Element, *fragments: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_jingle(element, "initiator")
    for fragment in fragments:
        assert fragment in caught.value.message
    assert "s3cret" not in caught.value.message


def test_minimal_content_reads() -> None:
    media = parse_jingle(payload_element(content_with()), "initiator").media[0]
    assert (media.kind, media.mid, media.payload_types[0].channels, media.protocol) == ("audio", "0", 2, "RTP/AVP")


def test_deep_xml_is_refused_before_it_is_walked() -> None:
    nested = "<x>" * 20 + "</x>" * 20
    refused(payload_element(content_with(f"<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'>{nested}</rtcp-fb>")), "deeper than")


def test_too_many_candidates() -> None:
    candidates = "".join(
        f"<candidate component='1' foundation='1' generation='0' id='c{n}' ip='127.0.0.1' port='{1024 + n}'"
        " priority='1' protocol='udp' type='host'/>"
        for n in range(101)
    )
    refused(payload_element(content_with(transport_children=candidates)), "Jingle content 1:", "more than 100 <candidate/>")


@pytest.mark.parametrize(
    "description_children, transport_children, why",
    [
        ("<payload-type name='PCMU'/>", "", "<payload-type/> has no id"),
        ("<payload-type id='300'/>", "", "out of range"),
        ("<payload-type id='0' name='s3cret&#13;&#10;a=candidate:1 1 udp 1 127.0.0.1 9 typ host'/>", "", "codec name"),
        ("<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'><parameter name='cname' value='s3cret&#9;'/></source>", "", "control"),
        ("<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='-1'/>", "", "not a number"),
        ("", "<candidate component='1' foundation='1' generation='0' id='x' ip='127.0.0.1' port='9' priority='1' protocol='tcp' type='host'/>", "not udp"),
        ("", "<candidate component='1' foundation='1' generation='0' id='x' ip='s3cret!' port='9' priority='1' protocol='udp' type='host'/>", "IP address"),
        ("", "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='holdconn'>02:1A</fingerprint>", "setup"),
    ],
)
def test_malformed_content(description_children: str, transport_children: str, why: str) -> None:
    refused(payload_element(content_with(description_children, transport_children)), "Jingle content 1:", why)


def test_bad_senders_and_foreign_contents() -> None:
    refused(payload_element(content_with(senders="everybody")), "senders")
    file_transfer = jingle(
        "<content creator='initiator' name='a-file'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'/>"
        "<transport xmlns='urn:xmpp:jingle:transports:s5b:1'/></content>"
    )
    refused(payload_element(file_transfer), "not an RTP description over an ICE-UDP transport")
    duplicated = content_with().replace("</jingle>", content_with().split("<jingle", 1)[1].split(">", 1)[1])
    refused(payload_element(duplicated), "a mid appears twice")


def test_forbidden_character_set_on_an_element() -> None:
    """XML cannot carry U+0007 (the stream's parser refuses it); an element built in the
    process can: it is refused all the same."""
    element = payload_element(content_with("<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'><parameter name='cname'/></source>"))
    content = next(element.elements("urn:xmpp:jingle:1", "content"))
    description = next(content.elements("urn:xmpp:jingle:apps:rtp:1", "description"))
    parameter = next(next(description.elements("urn:xmpp:jingle:apps:rtp:ssma:0", "source")).elements())
    parameter["value"] = "s3cret\x07"
    refused(element, "Jingle content 1:", "U+0007")


def walk(element: domish.Element) -> list[domish.Element]:
    found, stack = [], [element]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(current.elements())
    return found


@pytest.mark.parametrize("change", ["removed", "emptied", "not a number"])
def test_every_attribute_changed_is_read_or_refused_with_invalid_argument(change: str) -> None:
    """Each attribute of a browser offer's Jingle, removed, emptied or set to a word in
    turn: read or refused with ``InvalidArgument``, never another exception."""
    session = parse_sdp(AUDIO_FIRST_OFFER)
    outcomes = set()
    element_count = len(walk(jingle_element(build_jingle_children(session, "initiator"))))
    for position in range(element_count):
        attributes = list(walk(jingle_element(build_jingle_children(session, "initiator")))[position].attributes)
        for attribute in attributes:
            built = jingle_element(build_jingle_children(session, "initiator"))
            target = walk(built)[position]
            if change == "removed":
                del target.attributes[attribute]
            else:
                target.attributes[attribute] = "" if change == "emptied" else "x"
            try:
                parse_jingle(built, "initiator")
                outcomes.add("read")
            except InvalidArgument:
                outcomes.add("refused")
    assert "refused" in outcomes


def test_xep_0167_payload_types_without_clockrate() -> None:
    """XEP-0167's example offers PCMU as ``<payload-type id='0' name='PCMU'/>``: its SDP
    said ``a=rtpmap:0 PCMU``, which SDP (and our own parser) refuses; a static payload
    type needs no rtpmap line. A dynamic one cannot be described without its clock rate."""
    voice = ("<content creator='initiator' name='voice'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>"
             "{payloads}</description>"
             "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'/></content>")
    offer = parse_jingle(payload_element(jingle(voice.format(
        payloads="<payload-type id='96' name='speex' clockrate='16000'/><payload-type id='0' name='PCMU'/>"))), "initiator")
    sdp = serialise_sdp(offer)
    assert "a=rtpmap:0" not in sdp
    assert [(payload.id, payload.name) for payload in parse_sdp(sdp).media[0].payload_types] == [(96, "speex"), (0, "")]
    refused(payload_element(jingle(voice.format(payloads="<payload-type id='96' name='speex'/>"))), "clock")
