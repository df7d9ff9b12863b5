"""Calls with media: ``sat call`` and ``sat call answer`` (aiortc) as subprocesses, alice
and bob on one real backend and a real Prosody, media over loopback ICE. What each side
printed (``-O json`` events) shows the call connected, frames received both ways, the
media order kept through the answer, and how it ended; the history shows the call. A few
tests play one side through the bridge alone (a browser's offer, an answer that cannot
connect)."""

from __future__ import annotations

import array
import json
import math
import queue
import signal
import subprocess
import threading
import time
import wave
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import pytest

from sat_backend.plugins.jingle.sdp import parse_sdp
from sat_bridge.client import BridgeClient
from tests.conftest import BIN_DIR, XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.dbus import PrivateBus, isolated_environment
from tests.fixtures.prosody import LuaValue, ProsodyServer, prosody_server
from tests.integration.test_calls_signalling import answer_to
from tests.integration.test_cli import SAT
from tests.integration.xmpp_helpers import connect_contacts
from tests.unit.sdp_samples import AUDIO_FIRST_OFFER

#: seconds a whole call may take here (startup, ICE, --duration, hang-up)
CALL_TIMEOUT = 60
LOOPBACK = ("--host-address", "127.0.0.1")


class CallParties:
    """alice and bob connected on one backend, contacts of each other; their full JIDs."""

    def __init__(self, backend: BackendProcess, client: BridgeClient, signals: SignalRecorder,
                 jids: dict[str, str]) -> None:
        self.backend, self.client, self.signals, self.jids = backend, client, signals, jids
        self.processes: list[CallProcess] = []

    def sat_call(self, *args: str) -> CallProcess:
        process = CallProcess([SAT, "-O", "json", "call", *args], self.backend.env)
        self.processes.append(process)
        return process

    def kill_all(self) -> None:
        """Kill what a failed test left running."""
        for process in self.processes:
            process.kill()
        self.processes.clear()


@pytest.fixture(scope="module")
def call_parties(session_bus: PrivateBus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CallParties]:
    """One backend and one Prosody for the module: each test is a call or two."""
    yield from parties_on(session_bus, tmp_path_factory.mktemp("calls-media"))


def parties_on(session_bus: PrivateBus, root: Path,
               external_services: Sequence[Mapping[str, LuaValue]] | None = None) -> Iterator[CallParties]:
    """alice and bob on a backend and a Prosody of their own in ``root``, whose server
    announces ``external_services`` (XEP-0215) when given."""
    for server in prosody_server(root / "prosody", XMPP_ACCOUNTS, external_services):
        env = isolated_environment(root / "env", BIN_DIR)
        env["DBUS_SESSION_BUS_ADDRESS"] = session_bus.address
        backend = BackendProcess(env, root / "backend.log")
        client = backend.start()
        try:
            parties = _connect_parties(backend, client, server)
            yield parties
            parties.kill_all()
        finally:
            backend.stop()


def _connect_parties(backend: BackendProcess, client: BridgeClient, server: ProsodyServer) -> CallParties:
    signals = SignalRecorder(client, "Connected", "ContactNew", "CallIncoming", "CallState")
    jids = connect_contacts(client, server, signals)
    return CallParties(backend, client, signals, jids)


class CallProcess:
    """A ``sat -O json call …`` subprocess whose events a thread collects as they come."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.events: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            self.events.append(event)
            self._queue.put(event)
        self._queue.put(None)

    def next_event(self, name: str) -> dict[str, Any]:
        """The next event called ``name`` (earlier ones of other names are passed)."""
        while (event := self._queue.get(timeout=CALL_TIMEOUT)) is not None:
            if event["event"] == name:
                return event
        raise AssertionError(f"no {name} event in {self.events}; stderr: {self._stderr()}")

    def finish(self) -> tuple[int, list[dict[str, Any]]]:
        """Exit code and every event of a process expected to end by itself."""
        try:
            self.process.wait(timeout=CALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"sat call did not end; events: {self.events}; stderr: {self._stderr()}") from None
        self._reader.join(timeout=CALL_TIMEOUT)
        assert self.process.returncode in (0, 1, 10, 130), self._stderr()
        return self.process.returncode, self.events

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _stderr(self) -> str:
        return self.process.stderr.read() if self.process.stderr and self.process.poll() is not None else ""


def by_name(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The first event of each name."""
    found: dict[str, dict[str, Any]] = {}
    for event in events:
        found.setdefault(event["event"], event)
    return found


def states(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["state"], e["reason"]) for e in events if e["event"] == "state"]


def call_in_history(parties: CallParties, sid: str, profile: str) -> dict[str, Any]:
    """``extra.call`` of the call's entry in ``sat history`` (stored as the call ends)."""
    deadline = time.monotonic() + 15
    while True:
        result = subprocess.run([SAT, "-O", "json", "history", "-p", profile], env=parties.backend.env,
                                capture_output=True, text=True, timeout=30, check=True)
        calls = [e["extra"]["call"] for e in json.loads(result.stdout) if e["extra"].get("call", {}).get("sid") == sid]
        if calls or time.monotonic() > deadline:
            assert len(calls) == 1, result.stdout
            return calls[0]
        time.sleep(0.2)


def talk(parties: CallParties, peer: str, *options: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """bob answers (waiting first), alice calls ``peer`` for one second of media; both
    end by themselves with exit code 0. Returns (alice's events, bob's events)."""
    bob = parties.sat_call("answer", "alice@localhost", *LOOPBACK, "-p", "bob")
    bob.next_event("waiting")
    alice = parties.sat_call(peer, "--duration", "1", *LOOPBACK, *options, "-p", "alice")
    (alice_code, alice_events), (bob_code, bob_events) = alice.finish(), bob.finish()
    assert (alice_code, bob_code) == (0, 0), (alice_events, bob_events)
    assert states(alice_events) == [("ringing", ""), ("active", ""), ("ended", "success")]
    assert states(bob_events) == [("active", ""), ("ended", "success")]
    for events in (alice_events, bob_events):
        assert by_name(events)["summary"]["frames"]["audio"] > 0
    return alice_events, bob_events


def assert_order_kept(alice: dict[str, dict[str, Any]], bob: dict[str, dict[str, Any]], kinds: list[str]) -> None:
    """The offer alice made, the one bob got, bob's answer and the answer alice got: the
    same media in the same order, and BUNDLE mids in that order too."""
    for event in (alice["offer"], bob["incoming"], bob["answer"], alice["answered"]):
        assert event["media"] == kinds, event
        assert event["bundle"] == alice["offer"]["bundle"], event


def test_video_call_to_a_device(call_parties: CallParties) -> None:
    alice_events, bob_events = talk(call_parties, call_parties.jids["bob"])
    alice, bob = by_name(alice_events), by_name(bob_events)
    assert_order_kept(alice, bob, ["audio", "video"])
    assert bob["incoming"]["peer"] == call_parties.jids["alice"]
    for events in (alice, bob):
        assert {"first_audio_frame", "first_video_frame"} <= set(events)
        assert "ice_servers" not in events  # this server has no XEP-0215: host candidates only
        assert events["media"]["state"] == "connecting" and events["summary"]["frames"]["video"] > 0
    sid = alice["calling"]["sid"]
    assert bob["incoming"]["sid"] == sid
    for profile, direction in (("alice", "outgoing"), ("bob", "incoming")):
        call = call_in_history(call_parties, sid, profile)
        assert (call["direction"], call["state"], call["reason"]) == (direction, "answered", "success")
        assert call["media"] == ["audio", "video"]


def test_video_first_call_to_a_bare_jid(call_parties: CallParties) -> None:
    """To bob@localhost: bob's device takes the XEP-0353 proposal, then answers the offer
    that follows; the video-first order holds all the way."""
    alice_events, bob_events = talk(call_parties, "bob@localhost", "--video-first")
    alice, bob = by_name(alice_events), by_name(bob_events)
    assert_order_kept(alice, bob, ["video", "audio"])
    assert bob["proposed"]["media"] == ["video", "audio"] and bob["proposed"]["sid"] == alice["calling"]["sid"]
    assert {"first_audio_frame", "first_video_frame"} <= set(alice) & set(bob)


@pytest.mark.parametrize("device", [True, False], ids=["full JID", "bare JID"])
def test_declined_call(call_parties: CallParties, device: bool) -> None:
    """bob declines: a Jingle session (full JID) or a XEP-0353 proposal (bare JID); the
    declined session is ``rejected`` in the caller's history."""
    bob = call_parties.sat_call("answer", "--decline", "-p", "bob")
    bob.next_event("waiting")
    peer = call_parties.jids["bob"] if device else "bob@localhost"
    alice = call_parties.sat_call(peer, "--audio-only", *LOOPBACK, "-p", "alice")
    (alice_code, alice_events), (bob_code, bob_events) = alice.finish(), bob.finish()
    assert (alice_code, bob_code) == (1, 0)
    assert states(alice_events)[-1] == states(bob_events)[-1] == ("ended", "decline")
    assert by_name(bob_events)["incoming"]["media"] == ["audio"]
    assert ("proposed" in by_name(bob_events)) is not device
    assert "first_audio_frame" not in by_name(alice_events)
    if device:
        call = call_in_history(call_parties, by_name(alice_events)["calling"]["sid"], "alice")
        assert (call["state"], call["reason"]) == ("rejected", "decline")


def test_interrupt_while_ringing_cancels(call_parties: CallParties) -> None:
    """Ctrl-C on the caller while bob's device rings (nobody answers it): alice's side
    hangs up cleanly, and bob's side sees the call ended with ``cancel``."""
    alice = call_parties.sat_call(call_parties.jids["bob"], *LOOPBACK, "-p", "alice")
    sid = alice.next_event("calling")["sid"]
    call_parties.signals.wait_for("CallIncoming", lambda *args: args[0] == sid and args[-1] == "bob")
    assert alice.next_event("state")["state"] == "ringing"
    alice.process.send_signal(signal.SIGINT)
    code, events = alice.finish()
    assert code == 130
    assert states(events) == [("ringing", ""), ("ended", "cancel")]
    call_parties.signals.wait_for("CallState", lambda *args: args[0] == sid and args[1:] == ("ended", "cancel", "bob"))


def write_tone(path: Path, seconds: int) -> None:
    """A WAV file of a 660 Hz tone, for ``--play``."""
    rate = 16000
    samples = array.array("h", (round(8000 * math.sin(2 * math.pi * 660 * n / rate)) for n in range(rate * seconds)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def test_callee_records_the_file_the_caller_plays(call_parties: CallParties, tmp_path: Path) -> None:
    """alice sends a file (--play), bob records what he receives and hangs up after a
    second (--duration on the callee's side): the recording is that file's tone."""
    played, recording = tmp_path / "tone.wav", tmp_path / "received.wav"
    write_tone(played, 5)
    bob = call_parties.sat_call("answer", *LOOPBACK, "--record", str(recording), "--duration", "1", "-p", "bob")
    bob.next_event("waiting")
    alice = call_parties.sat_call(call_parties.jids["bob"], "--audio-only", "--play", str(played), *LOOPBACK,
                                  "-p", "alice")
    (bob_code, bob_events), (alice_code, alice_events) = bob.finish(), alice.finish()
    assert (bob_code, alice_code) == (0, 0)
    assert states(bob_events)[-1] == states(alice_events)[-1] == ("ended", "success")
    assert 600 < dominant_frequency(recording) < 720  # the file alice played, not the 440 Hz tone


def test_sigterm_hangs_up_an_active_call(call_parties: CallParties) -> None:
    """SIGTERM on the callee during the call: it hangs up, both sides end with ``success``."""
    bob = call_parties.sat_call("answer", *LOOPBACK, "-p", "bob")
    bob.next_event("waiting")
    alice = call_parties.sat_call(call_parties.jids["bob"], "--audio-only", *LOOPBACK, "-p", "alice")
    bob.next_event("first_audio_frame")
    bob.process.send_signal(signal.SIGTERM)
    (bob_code, bob_events), (alice_code, alice_events) = bob.finish(), alice.finish()
    assert (bob_code, alice_code) == (130, 0)
    assert states(bob_events)[-1] == states(alice_events)[-1] == ("ended", "success")


def dominant_frequency(path: Path) -> float:
    """The frequency of a recorded tone, from the zero crossings of its middle half."""
    with wave.open(str(path), "rb") as recorded:
        channels, rate = recorded.getnchannels(), recorded.getframerate()
        samples = array.array("h", recorded.readframes(recorded.getnframes()))[::channels]
    middle = samples[len(samples) // 4: 3 * len(samples) // 4]
    assert len(middle) > rate // 10, "less than 0.2 s of audio was recorded"
    crossings = sum(1 for a, b in zip(middle, middle[1:]) if (a < 0) != (b < 0))
    return crossings / 2 / (len(middle) / rate)


def test_media_that_never_connects_is_given_up(call_parties: CallParties) -> None:
    """bob answers through the bridge alone, with ICE credentials but no candidate: alice's
    media cannot connect, and --connect-timeout after the answer she hangs up with
    ``failed-transport``; the exit code says the call did not work."""
    alice = call_parties.sat_call(call_parties.jids["bob"], "--audio-only", "--connect-timeout", "1", *LOOPBACK,
                                  "-p", "alice")
    sid = alice.next_event("calling")["sid"]
    offer = call_parties.signals.wait_for("CallIncoming", lambda *args: args[0] == sid and args[-1] == "bob")[2]
    call_parties.client.call_answer(sid, answer_to(offer), "bob")
    code, events = alice.finish()
    assert code == 1
    assert states(events)[-2:] == [("active", ""), ("ended", "failed-transport")]
    summary = by_name(events)["summary"]
    assert (summary["answered"], summary["connected"]) == (True, False)
    call_parties.signals.wait_for("CallState", lambda *args: args[0] == sid
                                  and args[1:] == ("ended", "failed-transport", "bob"))


def test_waiting_for_a_call_ends_on_wait_or_interrupt(call_parties: CallParties) -> None:
    given_up = call_parties.sat_call("answer", "--wait", "0.5", "-p", "bob")
    interrupted = call_parties.sat_call("answer", "-p", "bob")
    interrupted.next_event("waiting")
    interrupted.process.send_signal(signal.SIGINT)
    assert [event["event"] for event in interrupted.finish()[1]] == ["engine_loaded", "waiting"]
    assert interrupted.process.returncode == 130
    code, events = given_up.finish()
    assert (code, [event["event"] for event in events]) == (1, ["engine_loaded", "waiting", "no_call"])
    unplayable = call_parties.sat_call("answer", "--play", "/nonexistent.wav", "-p", "bob")
    assert unplayable.finish()[0] == 10  # InvalidArgument, before waiting


def speex_only(offer: str) -> str:
    """A browser's audio+video offer whose audio is Speex alone, a codec aiortc lacks."""
    lines = offer.split("\r\n")
    audio = next(index for index, line in enumerate(lines) if line.startswith("m=audio"))
    end = next(index for index, line in enumerate(lines) if line.startswith("m=video"))
    section = [line for line in lines[audio + 1:end] if not line.startswith(("a=rtpmap", "a=fmtp", "a=rtcp-fb"))]
    return "\r\n".join([*lines[:audio], "m=audio 9 UDP/TLS/RTP/SAVPF 96", *section, "a=rtpmap:96 speex/16000",
                         *lines[end:]])


def test_a_browser_offer_is_answered_in_its_order(call_parties: CallParties) -> None:
    """alice's side is the bridge alone, with a Chromium offer: bob's ``sat call answer``
    answers it, audio then video as offered, and the answer alice gets says the same."""
    client, signals = call_parties.client, call_parties.signals
    bob = call_parties.sat_call("answer", *LOOPBACK, "-p", "bob")
    bob.next_event("waiting")
    recorder = SignalRecorder(client, "CallAnswered")
    sid = client.call_start(call_parties.jids["bob"], AUDIO_FIRST_OFFER, "alice")
    answer = recorder.wait_for("CallAnswered", lambda *args: args[0] == sid and args[-1] == "alice")[1]
    assert bob.next_event("answer")["media"] == ["audio", "video"]
    assert parse_sdp(answer).group("BUNDLE") == parse_sdp(AUDIO_FIRST_OFFER).group("BUNDLE")
    assert [media.kind for media in parse_sdp(answer).media] == ["audio", "video"]
    client.call_end(sid, "", "alice")
    code, events = bob.finish()
    assert (code, states(events)[-1]) == (1, ("ended", "success"))  # answered, media never connected
    signals.wait_for("CallState", lambda *args: args[0] == sid and args[1:] == ("ended", "success", "bob"))


def test_an_offer_the_engine_cannot_use_is_refused(call_parties: CallParties) -> None:
    bob = call_parties.sat_call("answer", *LOOPBACK, "-p", "bob")
    bob.next_event("waiting")
    sid = call_parties.client.call_start(call_parties.jids["bob"], speex_only(AUDIO_FIRST_OFFER), "alice")
    code, events = bob.finish()
    assert code == 1 and "error" in by_name(events)
    assert states(events)[-1] == ("ended", "incompatible-parameters")
    call_parties.signals.wait_for("CallState", lambda *args: args[0] == sid
                                  and args[1:] == ("ended", "incompatible-parameters", "alice"))


def test_which_profile_calls(call_parties: CallParties) -> None:
    """Signals name the profile, so ``sat call`` needs its real name: an unknown profile
    is refused, and without -p the default one (alice's, created first) calls."""
    def sat(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SAT, *args], env=call_parties.backend.env, capture_output=True,
                              text=True, timeout=CALL_TIMEOUT, check=False)

    unknown = sat("call", "bob@localhost", "-p", "nobody")
    assert unknown.returncode == 12 and "nobody" in unknown.stderr
    bob = call_parties.sat_call("answer", "--decline", "-p", "bob")
    bob.next_event("waiting")
    default = sat("-O", "json", "call", "bob@localhost", "--audio-only", *LOOPBACK)
    assert bob.finish()[0] == 0
    assert default.returncode == 1  # declined
    calling = next(event for event in map(json.loads, default.stdout.splitlines()) if event["event"] == "calling")
    assert by_name(bob.events)["proposed"]["sid"] == calling["sid"]
    assert by_name(bob.events)["proposed"]["peer"].startswith("alice@localhost/")
