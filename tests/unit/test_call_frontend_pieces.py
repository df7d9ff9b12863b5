"""Pure pieces of ``sat call``: the SDP handed to the bridge without its candidates (they
are trickled), the media order and options read from the command line, the generated
media, and how events are shown."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import subprocess
import sys
from pathlib import Path

import aioice.ice
import pytest

from sat_bridge.errors import InvalidArgument, ProfileUnknown
from sat_frontends.calls import media
from sat_frontends.calls.driver import _from
from sat_frontends.calls.engine import restrict_host_addresses
from sat_frontends.calls.sdp_text import bundle_mids, media_kinds, section_mids, split_candidates, strip_prefix
from sat_frontends.cli.commands.call import (
    EventPrinter,
    call_target,
    default_profile,
    describe,
    ip_address,
    media_order,
    positive_seconds,
)
from sat_frontends.cli.commands.message import describe_call, format_message
from sat_frontends.cli.main import build_parser
from sat_frontends.cli.output import Output

#: as aiortc writes a video-first offer: the same candidates in both bundled sections
AIORTC_OFFER = "\r\n".join((
    "v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "m=video 40000 UDP/TLS/RTP/SAVPF 97", "c=IN IP4 127.0.0.1", "a=mid:0",
    "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
    "a=candidate:2 1 udp 2130706431 10.0.0.2 40001 typ host", "a=end-of-candidates",
    "a=rtpmap:97 VP8/90000",
    "m=audio 40000 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 127.0.0.1", "a=mid:1",
    "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host", "a=end-of-candidates",
    "a=rtpmap:96 opus/48000/2", "",
))


def test_candidates_are_taken_out_by_mid_in_order() -> None:
    sdp, candidates = split_candidates(AIORTC_OFFER)
    assert candidates == {
        "0": ["candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host", "candidate:2 1 udp 2130706431 10.0.0.2 40001 typ host"],
        "1": ["candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"],
    }
    assert "candidate" not in sdp and "end-of-candidates" not in sdp
    assert sdp == AIORTC_OFFER.replace("\r\n".join(
        ("", "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
         "a=candidate:2 1 udp 2130706431 10.0.0.2 40001 typ host", "a=end-of-candidates")), "").replace(
        "\r\n".join(("", "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host", "a=end-of-candidates")), "")
    assert sdp.endswith("\r\n") and "\n\n" not in sdp.replace("\r\n", "\n")


def test_a_section_without_mid_is_named_by_its_index() -> None:
    sdp = "v=0\nm=audio 9 RTP/AVP 0\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\nm=video 9 RTP/AVP 96\n" \
          "a=candidate:2 1 udp 1 127.0.0.1 10 typ host\n"
    assert split_candidates(sdp)[1] == {"0": ["candidate:1 1 udp 1 127.0.0.1 9 typ host"],
                                        "1": ["candidate:2 1 udp 1 127.0.0.1 10 typ host"]}
    assert split_candidates("v=0\r\n") == ("v=0\r\n", {})


def test_media_order_is_read_from_the_sdp() -> None:
    assert media_kinds(AIORTC_OFFER) == ["video", "audio"]
    assert bundle_mids(AIORTC_OFFER) == section_mids(AIORTC_OFFER) == ["0", "1"]
    assert bundle_mids("v=0\r\nm=audio 9 RTP/AVP 0\r\n") == []
    assert strip_prefix("candidate:1 1 udp") == strip_prefix("1 1 udp") == "1 1 udp"


def parse(*words: str) -> argparse.Namespace:
    return build_parser().parse_args(["call", *words])


@pytest.mark.parametrize(("flags", "kinds"), [
    ((), ["audio", "video"]), (("--video-first",), ["video", "audio"]), (("--audio-only",), ["audio"]),
])
def test_media_order_from_the_command_line(flags: tuple[str, ...], kinds: list[str]) -> None:
    args = parse("bob@example.org", *flags)
    assert media_order(args.audio_only, args.video_first) == kinds
    assert call_target(args) == ("place", "bob@example.org")


def test_contradictory_or_misplaced_options_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="exclude"):
        media_order(True, True)
    for words in (("bob@example.org", "carol@example.org"), ("bob@example.org", "--decline"),
                  ("bob@example.org", "--wait", "3"), ("bob@example.org", "--sid", "s1"), ("answer", "--video-first")):
        with pytest.raises(InvalidArgument):
            call_target(parse(*words))
    assert call_target(parse("answer")) == ("answer", None)
    assert call_target(parse("answer", "alice@example.org", "--decline", "--wait", "2")) == ("answer", "alice@example.org")


def test_seconds_and_addresses_are_checked() -> None:
    assert positive_seconds("1.5") == 1.5
    for bad in ("0", "-1", "nan", "inf", "1e9", "soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_seconds(bad)
    assert ip_address("127.0.0.1") == "127.0.0.1" and ip_address("::1") == "::1"
    with pytest.raises(argparse.ArgumentTypeError):
        ip_address("localhost")
    with pytest.raises(SystemExit):  # argparse turns the refusal into a usage error
        build_parser().parse_args(["call", "bob@example.org", "--duration", "0"])


def test_host_address_restriction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)  # restored after
    with pytest.raises(ValueError):
        restrict_host_addresses("not an address")
    restrict_host_addresses("127.0.0.1")
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1"]


def test_calls_from_a_given_jid() -> None:
    assert _from("alice@example.org/phone", None)
    assert _from("alice@example.org/phone", "alice@example.org")
    assert _from("alice@example.org/phone", "alice@example.org/phone")
    assert not _from("alice@example.org/phone", "alice@example.org/laptop")
    assert not _from("alice@example.org.evil/phone", "alice@example.org")


def test_generated_media() -> None:
    tone = memoryview(media.tone_table()).cast("h")
    assert len(tone) == media.SAMPLE_RATE and tone[0] == 0
    assert max(tone) == round(media.TONE_AMPLITUDE)
    # 440 whole periods a second: the table loops without a jump
    assert abs(tone[-1] - (-tone[1])) <= 1
    bars = media.pattern_bars()
    assert len(bars) == media.PATTERN_WIDTH * media.PATTERN_HEIGHT * 3
    assert tuple(bars[:3]) == media.BAR_COLOURS[0] and tuple(bars[-3:]) == media.BAR_COLOURS[-1]


def test_events_as_text_and_json() -> None:
    out = io.StringIO()
    printer = EventPrinter(Output("json", out=out), started=0.0)
    printer("state", state="ringing", reason="")
    record = json.loads(out.getvalue())
    assert record["event"] == "state" and record["state"] == "ringing" and isinstance(record["at_ms"], int)
    assert describe({"event": "state", "at_ms": 5, "state": "ended", "reason": "decline"}) == "ended: decline"
    assert describe({"event": "first_audio_frame", "at_ms": 160}) == "first audio frame received (160 ms)"
    assert describe({"event": "incoming", "at_ms": 1, "peer": "a@b/c", "media": ["video", "audio"]}) \
        == "incoming call from a@b/c (video, audio)"
    assert describe({"event": "summary", "at_ms": 1, "frames": {"audio": 3}}) == "frames received: audio 3"


def test_the_cli_imports_aiortc_only_for_a_call() -> None:
    """``sat --help`` and every other command stay as fast as before the media engine."""
    code = "import sys; import sat_frontends.cli.main as m; m.build_parser(); print('aiortc' in sys.modules or 'av' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


def test_history_shows_calls() -> None:
    answered = {"sid": "s", "direction": "outgoing", "state": "answered", "reason": "success",
                "duration": 12.04, "media": ["audio", "video"]}
    record = {"timestamp": 0, "from": "a@b/c", "to": "d@e/f", "message": {}, "subject": {},
              "extra": json.dumps({"call": answered})}
    assert format_message(record).endswith("a@b/c → d@e/f: (audio+video call, 12.0 s, ended: success)")
    missed = {**answered, "state": "missed", "reason": "decline", "duration": 0, "media": ["audio"]}
    assert describe_call(missed) == "(missed audio call: decline)"


def test_media_files_that_cannot_be_used_are_said_at_once(tmp_path: Path) -> None:
    not_media = tmp_path / "notes.txt"
    not_media.write_text("not media")
    for path in (str(tmp_path / "missing.wav"), str(not_media)):
        with pytest.raises(media.MediaFileError, match="cannot play"):
            media.MediaSources(path)
    for path in (str(tmp_path / "no" / "such" / "dir.wav"), str(tmp_path / "out.no-such-format")):
        with pytest.raises(media.MediaFileError, match="cannot record"):
            media.MediaSinks(path, lambda kind: None)
    assert media.MediaSinks(str(tmp_path / "out.wav"), lambda kind: None).recorder is not None


class FakeProfiles:
    """The two bridge members :func:`default_profile` reads: profiles and their JIDs."""

    def __init__(self, jids: dict[str, str], default: str = "") -> None:
        self.jids, self.default = jids, default

    async def profiles_list(self, timeout: float) -> list[str]:
        return list(self.jids)

    async def param_get(self, category: str, name: str, profile: str, timeout: float) -> str:
        assert (category, name) == ("Connection", "JabberID")
        return self.jids[profile or self.default]


def test_the_default_profile_is_found_by_its_jid() -> None:
    def resolve(fake: FakeProfiles) -> str:
        return asyncio.run(default_profile(fake, 1.0))  # type: ignore[arg-type]

    assert resolve(FakeProfiles({"me": "me@example.org"})) == "me"
    assert resolve(FakeProfiles({"a": "a@example.org", "b": "b@example.org"}, default="b")) == "b"
    with pytest.raises(ProfileUnknown):
        resolve(FakeProfiles({}))
    with pytest.raises(InvalidArgument, match="-p"):
        resolve(FakeProfiles({"a": "same@example.org", "b": "same@example.org"}, default="a"))
