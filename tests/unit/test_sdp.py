"""SDP text ⇄ typed session description: what WebRTC and aiortc offers say is read in
order and written back unchanged; a malformed SDP is refused with ``InvalidArgument``
naming the line, never quoting it."""

from __future__ import annotations

import pytest

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.jingle.candidates import candidate_attribute, parse_candidate
from sat_backend.plugins.jingle.model import Candidate, Parameter, RtcpFeedback
from sat_backend.plugins.jingle.sdp import parse_sdp, serialise_sdp

from tests.unit.sdp_samples import AUDIO_FIRST_OFFER, FIREFOX_AUDIO_OFFER, VIDEO_FIRST_ANSWER, VIDEO_FIRST_OFFER

SECRET = "s3cret-text"


def test_browser_offer_is_read_in_order() -> None:
    session = parse_sdp(AUDIO_FIRST_OFFER)
    audio, video = session.media
    assert (audio.kind, audio.mid, video.kind, video.mid) == ("audio", "0", "video", "1")
    assert session.group("BUNDLE") is not None and session.group("BUNDLE").mids == ("0", "1")  # type: ignore[union-attr]
    assert session.extmap_allow_mixed
    assert [payload.id for payload in audio.payload_types] == [111, 63, 0, 8, 126]
    opus = audio.payload_types[0]
    assert (opus.name, opus.clockrate, opus.channels) == ("opus", 48000, 2)
    assert opus.parameters == (Parameter("minptime", "10"), Parameter("useinbandfec", "1"))
    assert opus.feedback == (RtcpFeedback("transport-cc"),)
    assert audio.payload_types[1].parameters == (Parameter("111/111"),)  # RED: a bare fmtp word
    assert audio.payload_types[4].parameters == (Parameter("0-15"),)
    assert audio.transport.ice_ufrag == "Fq4N" and audio.transport.setup == "actpass"
    host, srflx, tcp = audio.candidates
    assert (host.type, host.address, host.generation, host.network) == ("host", "127.0.0.1", 0, 1)
    assert (srflx.type, srflx.related_address, srflx.related_port) == ("srflx", "127.0.0.1", 46243)
    assert (tcp.protocol, tcp.tcp_type) == ("tcp", "active")
    assert [extension.id for extension in video.header_extensions] == [14, 2, 13, 3, 4]
    vp8 = video.payload_types[0]
    assert RtcpFeedback("ccm", "fir") in vp8.feedback and RtcpFeedback("nack", "pli") in vp8.feedback
    assert [(group.semantics, group.ssrcs) for group in video.source_groups] == [("FID", (2231627014, 632943048))]
    assert video.sources[0].parameters[0] == Parameter("cname", "4TOk42mSjXCkVIa6")
    assert video.sources[0].parameters[1].value == "5Oj7JwTtLzB4IpOp 8a8d3c4b-3f0e-4d6e-9b51-7f1c2d0e9a44"


def test_aiortc_answer_is_read() -> None:
    session = parse_sdp(VIDEO_FIRST_ANSWER)
    assert [(media.kind, media.direction, media.transport.setup) for media in session.media] == [
        ("video", "recvonly", "active"),
        ("audio", "recvonly", "active"),
    ]
    assert len(session.media[0].transport.fingerprints) == 3
    assert all(media.end_of_candidates and media.rtcp_mux for media in session.media)


@pytest.mark.parametrize("text", [AUDIO_FIRST_OFFER, FIREFOX_AUDIO_OFFER, VIDEO_FIRST_OFFER, VIDEO_FIRST_ANSWER])
def test_serialised_sdp_reads_back_the_same(text: str) -> None:
    session = parse_sdp(text)
    written = serialise_sdp(session)
    assert parse_sdp(written) == session
    assert written.endswith("\r\n") and "\n" not in written.replace("\r\n", "")


def test_lf_line_ends_are_accepted() -> None:
    assert parse_sdp(VIDEO_FIRST_OFFER.replace("\r\n", "\n")) == parse_sdp(VIDEO_FIRST_OFFER)


def test_candidate_line() -> None:
    text = "candidate:842163049 1 UDP 1686052607 203.0.113.7 46243 typ srflx raddr 127.0.0.1 rport 46243 generation 0 ufrag Fq4N network-id 1"
    candidate = parse_candidate(text)
    assert candidate == Candidate("842163049", 1, "udp", 1686052607, "203.0.113.7", 46243, "srflx", "127.0.0.1", 46243, 0, 1)
    assert parse_candidate(text.removeprefix("candidate:")) == candidate
    assert parse_candidate(candidate_attribute(candidate)) == candidate
    assert parse_candidate("candidate:1 1 udp 1 4b1e7e0a-2f.local 5000 typ host").address == "4b1e7e0a-2f.local"


def lines_of(text: str) -> list[str]:
    return text.split("\r\n")


def with_line(text: str, index: int, line: str) -> str:
    """``text`` with its line ``index`` (0-based) replaced."""
    lines = lines_of(text)
    lines[index] = line
    return "\r\n".join(lines)


def index_of(text: str, start: str) -> int:
    return next(index for index, line in enumerate(lines_of(text)) if line.startswith(start))


def refused(text: str, *fragments: str) -> str:
    with pytest.raises(InvalidArgument) as caught:
        parse_sdp(text)
    message = caught.value.message
    for fragment in fragments:
        assert fragment in message
    assert SECRET not in message and len(message) < 300
    return message


def test_m_line_without_port() -> None:
    index = index_of(AUDIO_FIRST_OFFER, "m=video")
    refused(with_line(AUDIO_FIRST_OFFER, index, "m=video UDP/TLS/RTP/SAVPF 96 97 102 103"), f"SDP line {index + 1}:", "port")
    refused(with_line(AUDIO_FIRST_OFFER, index, "m=video"), f"SDP line {index + 1}:")


@pytest.mark.parametrize(
    "fmtp, why",
    [
        ("a=fmtp:111", "lacks a field"),
        ("a=fmtp:111 ;;", "no parameter"),
        ("a=fmtp:111 =" + SECRET, "no name"),
        ("a=fmtp:112 minptime=10", "not listed on the m= line"),
        ("a=fmtp:1x1 minptime=10", "not a number"),
        ("a=fmtp:111 minptime=10;minptime=20", "appears twice"),
        ("a=fmtp:111 " + ";".join(f"p{n}=1" for n in range(40)), "more than 32"),
    ],
)
def test_bad_fmtp(fmtp: str, why: str) -> None:
    index = index_of(AUDIO_FIRST_OFFER, "a=fmtp:111")
    refused(with_line(AUDIO_FIRST_OFFER, index, fmtp), f"SDP line {index + 1}:", why)


def test_ten_thousand_candidates() -> None:
    index = index_of(VIDEO_FIRST_OFFER, "a=end-of-candidates")
    lines = lines_of(VIDEO_FIRST_OFFER)
    flood = [f"a=candidate:{n} 1 udp 2130706431 127.0.0.1 {1024 + n % 60000} typ host" for n in range(10_000)]
    refused("\r\n".join(lines[:index] + flood + lines[index:]), "longer than 100000 characters")
    short = ["a=x"] * 2_500
    refused("\r\n".join(lines[:index] + short + lines[index:]), "more than 2000 lines")


def test_too_many_candidates_in_one_section() -> None:
    index = index_of(VIDEO_FIRST_OFFER, "a=end-of-candidates")
    lines = lines_of(VIDEO_FIRST_OFFER)
    flood = [f"a=candidate:{n} 1 udp 2130706431 127.0.0.1 {1024 + n} typ host" for n in range(100)]
    refused("\r\n".join(lines[:index] + flood + lines[index:]), f"SDP line {index + 99}:", "more than 100 candidates")


@pytest.mark.parametrize("char", ["\x07", "\x00", "\x1b", "\x0b", "\ufffe", "\ud800"])
def test_control_character(char: str) -> None:
    index = index_of(AUDIO_FIRST_OFFER, "a=ssrc:3570614608 cname")
    message = refused(with_line(AUDIO_FIRST_OFFER, index, f"a=ssrc:3570614608 cname:{SECRET}{char}"), f"SDP line {index + 1}:")
    assert f"U+{ord(char):04X}" in message


def test_tab_and_bare_carriage_return_are_refused() -> None:
    index = index_of(AUDIO_FIRST_OFFER, "a=ssrc:3570614608 cname")
    refused(with_line(AUDIO_FIRST_OFFER, index, f"a=ssrc:3570614608 cname:{SECRET}\t"), f"SDP line {index + 1}:", "control")
    refused(with_line(AUDIO_FIRST_OFFER, index, "a=rtcp-mux\ra=candidate:1 1 udp 1 127.0.0.1 9 typ host"), f"SDP line {index + 1}:")


@pytest.mark.parametrize(
    "start, line, why",
    [
        ("a=rtpmap:111", "a=rtpmap:111 " + "o" * 2000, "longer than 1024"),
        ("a=rtpmap:111", "a=rtpmap:111 opus/48000/2/9", "not <name>"),
        ("a=candidate:1467250027", "a=candidate:1 1 udp 2122260223 " + SECRET + "! 46243 typ host", "neither an IP address"),
        ("a=candidate:1467250027", "a=candidate:1 1 udp 2122260223 127.0.0.1 70000 typ host", "port"),
        ("a=candidate:1467250027", "a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ", "lacks a field"),
        ("a=setup:actpass", "a=setup:holdconn", "setup"),
        ("a=ice-pwd:", "a=ice-pwd:short", "ICE credential"),
        ("a=fingerprint:", "a=fingerprint:sha-256 " + SECRET, "hexadecimal"),
        ("a=mid:0", "a=mid:0 1", "token"),
        ("m=audio", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "only audio and video"),
        ("a=extmap:1", "a=extmap:300 urn:x", "extmap id"),
        ("a=ssrc-group", "a=ssrc-group:FID", "no ssrc"),
        ("v=0", "v=1", "v=0"),
    ],
)
def test_malformed_lines(start: str, line: str, why: str) -> None:
    text = AUDIO_FIRST_OFFER if not start.startswith("a=ssrc-group") else VIDEO_FIRST_OFFER
    index = index_of(text, start)
    refused(with_line(text, index, line), f"SDP line {index + 1}:", why)


def test_media_section_without_mid_is_named_by_its_m_line() -> None:
    index = index_of(VIDEO_FIRST_OFFER, "a=mid:1")
    lines = lines_of(VIDEO_FIRST_OFFER)
    del lines[index]
    m_line = index_of(VIDEO_FIRST_OFFER, "m=audio")
    refused("\r\n".join(lines), f"SDP line {m_line + 1}:", "no a=mid")


def test_whole_sdp_bounds() -> None:
    refused("v=0\r\n" + "a=x\r\n" * 30_000, "longer than 100000 characters")
    refused("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "no media section")
    index = index_of(VIDEO_FIRST_OFFER, "a=group:BUNDLE")
    refused(with_line(VIDEO_FIRST_OFFER, index, "a=group:BUNDLE 0 1 2"), "names a mid no media section has")


def test_every_cut_line_is_read_or_refused_with_invalid_argument() -> None:
    """Each line of an offer cut at each of its separators: the SDP is read or refused
    with ``InvalidArgument``, never another exception (a bounded walk: ~1,000 parses)."""
    lines = lines_of(AUDIO_FIRST_OFFER)
    outcomes = set()
    for index, line in enumerate(lines):
        for cut in [position for position, character in enumerate(line) if character in " :/=;"]:
            try:
                parse_sdp(with_line(AUDIO_FIRST_OFFER, index, line[:cut]))
                outcomes.add("read")
            except InvalidArgument:
                outcomes.add("refused")
    assert outcomes == {"read", "refused"}
