"""Issue 13's rule: the order of the media contents is kept end to end. SDP → Jingle →
SDP keeps the offer's order (a video-first offer stays video-first), content names are
the mids, the BUNDLE group lists them in the same order, and an answer read from Jingle
contents (whatever order a peer lists them in) keeps the offer's order."""

from __future__ import annotations

from dataclasses import replace

import pytest
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.jingle.ice_xml import candidate_id
from sat_backend.plugins.jingle.jingle_xml import DISCARD_PORT, NO_ADDRESS, build_jingle_children, parse_jingle
from sat_backend.plugins.jingle.model import Media, SessionDescription
from sat_backend.plugins.jingle.namespaces import NS_JINGLE, NS_JINGLE_GROUPING, NS_JINGLE_RTP
from sat_backend.plugins.jingle.order import answer_in_offer_order
from sat_backend.plugins.jingle.sdp import parse_sdp, serialise_sdp
from sat_backend.plugins.jingle.senders import Role

from tests.unit.sdp_samples import AUDIO_FIRST_OFFER, FIREFOX_AUDIO_OFFER, VIDEO_FIRST_ANSWER, VIDEO_FIRST_OFFER

OFFERS = {"audio-first": (AUDIO_FIRST_OFFER, ["audio", "video"]), "video-first": (VIDEO_FIRST_OFFER, ["video", "audio"])}


def to_jingle(session: SessionDescription, author: Role, sid: str = "a73sjjvkla37jfea") -> domish.Element:
    jingle = domish.Element((NS_JINGLE, "jingle"))
    jingle["sid"] = sid
    for child in build_jingle_children(session, author):
        jingle.addChild(child)
    return jingle


def contents(jingle: domish.Element) -> list[domish.Element]:
    return list(jingle.elements(NS_JINGLE, "content"))


def kinds_in(jingle: domish.Element) -> list[str]:
    return [next(content.elements(NS_JINGLE_RTP, "description"))["media"] for content in contents(jingle)]


def bundle_names(jingle: domish.Element) -> list[str]:
    group = next(jingle.elements(NS_JINGLE_GROUPING, "group"))
    assert group["semantics"] == "BUNDLE"
    return [content["name"] for content in group.elements(NS_JINGLE_GROUPING, "content")]


def m_lines(text: str) -> list[str]:
    return [line.split(" ")[0].removeprefix("m=") for line in text.split("\r\n") if line.startswith("m=")]


def carried_by_jingle(session: SessionDescription) -> tuple[Media, ...]:
    """What Jingle keeps of each media section: the ICE/DTLS values (session defaults
    applied), session-level extmap-allow-mixed (written per content), UDP candidates with
    a generation and an id (XEP-0176 requires both); not the ``m=`` port and ``c=``
    address (ICE carries addresses), nor ``end-of-candidates``."""
    return tuple(
        replace(
            media,
            port=DISCARD_PORT,
            connection=NO_ADDRESS,
            transport=media.transport.over(session.transport),
            extmap_allow_mixed=media.extmap_allow_mixed or session.extmap_allow_mixed,
            candidates=tuple(
                replace(candidate, generation=candidate.generation or 0, id=candidate_id(candidate, media.mid))
                for candidate in media.candidates
                if candidate.protocol == "udp"
            ),
            end_of_candidates=False,
        )
        for media in session.media
    )


def without_candidate_ids(session: SessionDescription) -> SessionDescription:
    return replace(
        session,
        media=tuple(
            replace(media, candidates=tuple(replace(candidate, id=None) for candidate in media.candidates))
            for media in session.media
        ),
    )


@pytest.mark.parametrize("name", OFFERS)
def test_offer_keeps_its_order_through_jingle(name: str) -> None:
    text, kinds = OFFERS[name]
    offer = parse_sdp(text)
    jingle = to_jingle(offer, "initiator")
    assert [content["name"] for content in contents(jingle)] == ["0", "1"]
    assert kinds_in(jingle) == kinds
    assert bundle_names(jingle) == ["0", "1"]

    back = parse_jingle(jingle, "initiator")
    assert back.mids == offer.mids
    assert back.groups == offer.groups
    assert back.media == carried_by_jingle(offer)
    written = serialise_sdp(back)
    assert m_lines(written) == kinds
    assert "a=group:BUNDLE 0 1\r\n" in written
    assert parse_sdp(written) == without_candidate_ids(back)  # SDP has no candidate id


def test_bundle_order_is_the_one_the_offer_lists() -> None:
    """A group may list its mids in another order than the sections: kept as it is, both ways."""
    offer = parse_sdp(VIDEO_FIRST_OFFER.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 1 0"))
    jingle = to_jingle(offer, "initiator")
    assert bundle_names(jingle) == ["1", "0"] and kinds_in(jingle) == ["video", "audio"]
    assert "a=group:BUNDLE 1 0\r\n" in serialise_sdp(parse_jingle(jingle, "initiator"))


def reversed_contents(jingle: domish.Element) -> domish.Element:
    """The same ``<jingle/>`` with its contents and BUNDLE listed in reverse order, as a
    client with a fixed audio-first order would send them."""
    reordered = domish.Element((NS_JINGLE, "jingle"))
    reordered["sid"] = jingle["sid"]
    group = next(jingle.elements(NS_JINGLE_GROUPING, "group"))
    group.children.reverse()
    reordered.addChild(group)
    for content in reversed(contents(jingle)):
        reordered.addChild(content)
    return reordered


def test_answer_from_jingle_keeps_the_offer_order() -> None:
    offer, answer = parse_sdp(VIDEO_FIRST_OFFER), parse_sdp(VIDEO_FIRST_ANSWER)
    accept = to_jingle(answer_in_offer_order(offer, answer), "responder")
    assert kinds_in(accept) == ["video", "audio"] and bundle_names(accept) == ["0", "1"]

    audio_first = reversed_contents(accept)
    received = parse_jingle(audio_first, "responder")
    assert received.mids == ("1", "0")  # read as sent…
    in_order = answer_in_offer_order(offer, received)
    assert in_order.mids == ("0", "1")  # …and put back in the offer's order
    assert in_order.group("BUNDLE").mids == ("0", "1")  # type: ignore[union-attr]
    assert in_order.media == carried_by_jingle(answer)
    assert m_lines(serialise_sdp(in_order)) == ["video", "audio"]


def test_answer_directions_are_the_responders() -> None:
    offer, answer = parse_sdp(VIDEO_FIRST_OFFER), parse_sdp(VIDEO_FIRST_ANSWER)
    assert [content["senders"] for content in contents(to_jingle(offer, "initiator"))] == ["both", "both"]
    # aiortc answers recvonly when it has nothing to send: only the initiator sends
    accept = to_jingle(answer, "responder")
    assert [content["senders"] for content in contents(accept)] == ["initiator", "initiator"]
    assert [media.direction for media in parse_jingle(accept, "responder").media] == ["recvonly", "recvonly"]
    sendonly = parse_sdp(VIDEO_FIRST_OFFER.replace("a=sendrecv", "a=sendonly"))
    assert [content["senders"] for content in contents(to_jingle(sendonly, "initiator"))] == ["initiator", "initiator"]


def test_rejected_section_is_left_out_of_jingle_and_back_in_the_answer() -> None:
    offer = parse_sdp(VIDEO_FIRST_OFFER)
    answer = parse_sdp(VIDEO_FIRST_ANSWER)
    answer = replace(answer, media=(answer.media[0], replace(answer.media[1], port=0)))
    accept = to_jingle(answer, "responder")
    assert [content["name"] for content in contents(accept)] == ["0"] and bundle_names(accept) == ["0"]

    in_order = answer_in_offer_order(offer, parse_jingle(accept, "responder"))
    assert in_order.mids == ("0", "1")
    audio = in_order.media[1]
    assert (audio.kind, audio.port, audio.direction, len(audio.payload_types)) == ("audio", 0, "inactive", 1)
    assert m_lines(serialise_sdp(in_order)) == ["video", "audio"]
    assert "m=audio 0 UDP/TLS/RTP/SAVPF 96\r\n" in serialise_sdp(in_order)


def test_answer_that_does_not_match_the_offer() -> None:
    offer, answer = parse_sdp(VIDEO_FIRST_OFFER), parse_sdp(VIDEO_FIRST_ANSWER)
    with pytest.raises(InvalidArgument, match="does not have"):
        answer_in_offer_order(offer, replace(answer, media=(replace(answer.media[0], mid="2"), answer.media[1]), groups=()))
    with pytest.raises(InvalidArgument, match="kind"):
        answer_in_offer_order(offer, replace(answer, media=(replace(answer.media[0], kind="audio"), answer.media[1])))


def test_session_level_values_reach_every_content() -> None:
    """Firefox gives its fingerprint once for the session: each content's transport
    carries it (Jingle has no session-level transport), and it comes back per media."""
    offer = parse_sdp(FIREFOX_AUDIO_OFFER)
    assert offer.transport.fingerprints and not offer.media[0].transport.fingerprints
    back = parse_jingle(to_jingle(offer, "initiator"), "initiator")
    assert back.media == carried_by_jingle(offer)
    assert back.media[0].transport.fingerprints == offer.transport.fingerprints
    assert back.media[0].header_extensions[1].direction == "recvonly"
    assert [candidate.protocol for candidate in back.media[0].candidates] == ["udp"]
