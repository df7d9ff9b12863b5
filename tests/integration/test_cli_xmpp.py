"""``sat connect|disconnect|message send|history|monitor`` against a real backend and Prosody."""

from __future__ import annotations

import json
import subprocess

from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer
from tests.integration.test_cli import SAT, sat
from tests.integration.xmpp_helpers import create_xmpp_profile


def test_chat_from_the_command_line(backend: BackendProcess, prosody: ProsodyServer) -> None:
    assert backend.client is not None
    for user in ("alice", "bob"):
        create_xmpp_profile(backend.client, prosody, user)
        assert sat(backend, "connect", "-p", user).stdout == "connected\n"
    assert sat(backend, "connect", "-p", "alice").stdout == "already connected\n"

    monitor = subprocess.Popen(
        [SAT, "-O", "json", "monitor", "--signal", "MessageNew", "--count", "2"],
        env=backend.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert monitor.stderr is not None and "monitoring" in monitor.stderr.readline()
        sent = sat(backend, "message", "send", "bob@localhost", "hello", "from", "the", "CLI", "-p", "alice")
        assert sent.returncode == 0, sent.stderr
        out, _ = monitor.communicate(timeout=30)
    finally:
        monitor.kill()
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["args"]["profile"] for r in records} == {"alice", "bob"}
    assert all(r["args"]["message"] == {"": "hello from the CLI"} for r in records)
    assert records[0]["args"]["uid"] == sent.stdout.strip() or records[1]["args"]["uid"] == sent.stdout.strip()

    piped = sat(backend, "message", "send", "alice@localhost", "--subject", "re", "-p", "bob", stdin="answer\n")
    assert piped.returncode == 0, piped.stderr
    history = json.loads(sat(backend, "-O", "json", "history", "bob@localhost", "-p", "alice").stdout)
    assert [h["message"][""] for h in history] == ["hello from the CLI", "answer"]
    assert history[1]["subject"] == {"": "re"}
    text = sat(backend, "history", "-s", "ANSWER", "-p", "alice").stdout.splitlines()
    assert len(text) == 1 and text[0].endswith("→ alice@localhost: [re] answer")

    assert sat(backend, "disconnect", "-p", "alice").returncode == 0
    offline = sat(backend, "message", "send", "bob@localhost", "x", "-p", "alice")
    assert offline.returncode == 15 and "ProfileNotConnected" in offline.stderr
    sat(backend, "disconnect", "-p", "bob")
