"""``sat-tray`` rings incoming calls: two profiles of one backend on a real Prosody (alice
calls bob through the bridge, an SDP offer without media engine is enough to ring), the
tray on the same private bus with the spec-following notification server. Decline
reaches alice as a declined call; Answer starts the configured call frontend with the
call's sid; the notification goes when the call is answered by another frontend, taken
on this device, or cancelled by the caller."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sat_bridge import errors
from sat_frontends.tray.calls import DEFAULT_ANSWER_COMMAND
from tests.fixtures.backend import BackendProcess
from tests.fixtures.notification_server import NotificationServer
from tests.fixtures.tray import TrayProcess, tray  # noqa: F401 - the fixture
from tests.integration.archive_helpers import wait_until
from tests.integration.test_cli import SAT
from tests.integration.test_calls_media import CALL_TIMEOUT, LOOPBACK, CallProcess, states
from tests.integration.test_calls_signalling import Parties, answer_to, parties  # noqa: F401 - fixture
from tests.unit.sdp_samples import AUDIO_FIRST_OFFER, VIDEO_FIRST_OFFER

ALICE = "alice@localhost"


def ringing(server: NotificationServer, tray: TrayProcess, count: int, sid: str) -> int:
    """The ``count``-th notification, checked to ring ``sid`` from alice; its id, once
    the tray knows it (a user is slower than that)."""
    notification_id, shown = server.wait_notify(count)
    assert shown["summary"] == f"Incoming call from {ALICE}"
    assert shown["actions"][::2] == ["answer", "decline"]
    wait_until(lambda: f"notification {notification_id} for {sid}" in tray.log_text(), 10,
               "the tray to know its notification")
    return notification_id


def start_tray(tray: TrayProcess, *args: str) -> None:
    tray.args = args
    tray.start()
    wait_until(lambda: "backend state loaded: 2 profile(s)" in tray.log_text(), 15, "the tray to start")


def test_decline_from_the_notification(parties: Parties, backend: BackendProcess, tray: TrayProcess,
                                       backend_env: dict[str, str]) -> None:
    client, bob = parties.client, parties.jids["bob"]
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server:
        start_tray(tray)
        sid = client.call_start(bob, VIDEO_FIRST_OFFER, "alice")
        parties.wait("CallIncoming", sid, "bob")
        notification_id = ringing(server, tray, 1, sid)
        assert server.wait_notify(1)[1]["body"] == "Video call"

        server.invoke(notification_id, "decline")
        parties.wait("CallState", sid, "alice", state="ended", reason="decline")   # alice sees it refused
        parties.wait("CallState", sid, "bob", state="ended", reason="decline")
        assert server.wait_close(1) == notification_id
        assert parties.call_in_history(sid, "alice")["state"] == "rejected"
        assert [event for event, _ in server.service.log].count("notify") == 1


def test_answer_starts_the_call_frontend_and_closing(parties: Parties, backend: BackendProcess,
                                                     tray: TrayProcess, backend_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    client, bob = parties.client, parties.jids["bob"]
    started = tmp_path / "answer-argv"
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server:
        # the call frontend: a real process that writes the arguments it was given
        start_tray(tray, "--answer-command", f"sh -c 'printf \"%s\\n\" \"$@\" > {started}' sh {{sid}} {{jid}} {{profile}}")

        # a proposal (XEP-0353, bare JID): Answer starts the frontend with the sid
        sid = client.call_start("bob@localhost", AUDIO_FIRST_OFFER, "alice")
        _, caller, _media, _ = parties.wait("CallProposed", sid, "bob")
        notification_id = ringing(server, tray, 1, sid)
        # what the frontend started by Answer reads (CallGet): no offer before proceeding
        assert client.call_get(sid, "bob") == (caller, "proposed", "", ["audio", "video"])
        assert client.call_get(sid, "alice")[:2] == ("bob@localhost", "proposed")
        server.invoke(notification_id, "answer")
        assert server.wait_close(1) == notification_id
        wait_until(started.exists, 10, "the call frontend to start")
        wait_until(lambda: f"call {sid} exited with 0" in tray.log_text(), 10, "the call frontend to exit")
        assert started.read_text().splitlines() == [sid, caller, "bob"]
        # the frontend takes it on this device: the offer that follows rings nothing
        client.call_answer(sid, "", "bob")
        offer = parties.wait("CallIncoming", sid, "bob")[2]
        assert client.call_get(sid, "bob")[1:] == ("ringing", offer, ["audio", "video"])
        client.call_end(sid, "", "alice")
        parties.wait("CallState", sid, "bob", state="ended", reason="cancel")
        with pytest.raises(errors.NotFound):
            client.call_get(sid, "bob")

        # answered by another frontend of this backend: the notification goes
        sid = client.call_start(bob, AUDIO_FIRST_OFFER, "alice")
        offer = parties.wait("CallIncoming", sid, "bob")[2]
        notification_id = ringing(server, tray, 2, sid)
        client.call_answer(sid, answer_to(offer), "bob")
        parties.wait("CallState", sid, "bob", state="active")
        assert server.wait_close(2) == notification_id
        client.call_end(sid, "", "bob")
        parties.wait("CallState", sid, "alice", state="ended", reason="success")

        # cancelled by alice while ringing: the notification goes
        sid = client.call_start(bob, AUDIO_FIRST_OFFER, "alice")
        parties.wait("CallIncoming", sid, "bob")
        notification_id = ringing(server, tray, 3, sid)
        client.call_end(sid, "", "alice")
        parties.wait("CallState", sid, "bob", state="ended", reason="cancel")
        assert server.wait_close(3) == notification_id
        assert [event for event, _ in server.service.log].count("notify") == 3


def test_answer_takes_the_call_with_sat_call_answer(parties: Parties, backend: BackendProcess, tray: TrayProcess,
                                                    backend_env: dict[str, str]) -> None:
    """Answer with the default command (loopback ICE added for the test): ``sat call
    answer --sid`` takes the call that rang before it started, a XEP-0353 proposal (to
    the bare JID) and a direct offer (to the full JID); media connects, both sides end
    with exit code 0 (bob's: answered and connected)."""
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server:
        start_tray(tray, "--answer-command", f"{DEFAULT_ANSWER_COMMAND} {' '.join(LOOPBACK)}")
        for count, peer in enumerate(("bob@localhost", parties.jids["bob"]), start=1):
            alice = CallProcess([SAT, "-O", "json", "call", peer, "--duration", "1", *LOOPBACK, "-p", "alice"],
                                backend_env)
            try:
                sid = alice.next_event("calling")["sid"]
                server.invoke(ringing(server, tray, count, sid), "answer")
                code, events = alice.finish()
            finally:
                alice.kill()
            assert code == 0 and states(events) == [("ringing", ""), ("active", ""), ("ended", "success")], events
            wait_until(lambda: f"call {sid} exited with 0" in tray.log_text(), CALL_TIMEOUT, "bob's side to end")


def test_the_call_frontend_outlives_the_tray(parties: Parties, backend: BackendProcess, tray: TrayProcess,
                                             backend_env: dict[str, str], tmp_path: Path) -> None:
    """The frontend Answer started runs in its own session: quitting the tray (or its
    crash) does not hang up the user's call."""
    pid_file, go = tmp_path / "frontend.pid", tmp_path / "go"
    wait_for_go = f"echo $$ > {pid_file}; i=0; while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server:
        start_tray(tray, "--answer-command", f"sh -c '{wait_for_go}'")
        sid = parties.client.call_start(parties.jids["bob"], AUDIO_FIRST_OFFER, "alice")
        parties.wait("CallIncoming", sid, "bob")
        server.invoke(ringing(server, tray, 1, sid), "answer")
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip().isdigit(), 10, "the frontend to start")
        frontend = int(pid_file.read_text())
        try:
            assert tray.stop() == 0
            os.kill(frontend, 0)      # still running (raises ProcessLookupError if not)
            assert os.getsid(frontend) == frontend
        finally:
            go.touch()
        parties.client.call_end(sid, "", "alice")
