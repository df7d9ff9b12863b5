"""``sat connect|disconnect|message send|history|monitor`` against a real backend and Prosody."""

from __future__ import annotations

import json
import subprocess

from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.integration.test_cli import SAT, sat
from tests.integration.xmpp_helpers import create_xmpp_profile


def test_chat_from_the_command_line(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    assert backend.client is not None
    for user in ("alice", "bob"):
        create_xmpp_profile(backend.client, fresh_prosody, user)
        assert sat(backend, "connect", "-p", user).stdout == "connected\n"
    assert sat(backend, "connect", "-p", "alice").stdout == "already connected\n"

    monitor = subprocess.Popen(
        [SAT, "-O", "json", "monitor", "--signal", "MessageNew", "--count", "2"],
        env=backend.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Bob's two MessageNew (received, then sent) come among four: alice's are filtered out.
    bob_only = subprocess.Popen(
        [SAT, "-O", "json", "monitor", "--signal", "MessageNew", "-p", "bob",
         "--count", "2"],
        env=backend.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert monitor.stderr is not None and "monitoring" in monitor.stderr.readline()
        assert bob_only.stderr is not None and "monitoring" in bob_only.stderr.readline()
        sent = sat(backend, "message", "send", "bob@localhost", "hello", "from", "the", "CLI", "-p", "alice")
        assert sent.returncode == 0, sent.stderr
        out, _ = monitor.communicate(timeout=30)
        records = [json.loads(line) for line in out.splitlines()]
        assert {r["args"]["profile"] for r in records} == {"alice", "bob"}
        assert all(r["args"]["message"] == {"": "hello from the CLI"} for r in records)
        assert records[0]["args"]["uid"] == sent.stdout.strip() or records[1]["args"]["uid"] == sent.stdout.strip()

        piped = sat(backend, "message", "send", "alice@localhost", "--subject", "re", "-p", "bob", stdin="answer\n")
        assert piped.returncode == 0, piped.stderr
        bob_out, _ = bob_only.communicate(timeout=30)
    finally:
        monitor.kill()
        bob_only.kill()
    bob_records = [json.loads(line) for line in bob_out.splitlines()]
    assert [(r["signal"], r["args"]["profile"]) for r in bob_records] == [("MessageNew", "bob")] * 2
    assert [r["args"]["message"] for r in bob_records] == [{"": "hello from the CLI"}, {"": "answer"}]
    history = json.loads(sat(backend, "-O", "json", "history", "bob@localhost", "-p", "alice").stdout)
    assert [h["message"][""] for h in history] == ["hello from the CLI", "answer"]
    assert history[1]["subject"] == {"": "re"}
    text = sat(backend, "history", "-s", "ANSWER", "-p", "alice").stdout.splitlines()
    assert len(text) == 1 and text[0].endswith("→ alice@localhost: [re] answer")

    assert sat(backend, "disconnect", "-p", "alice").returncode == 0
    offline = sat(backend, "message", "send", "bob@localhost", "x", "-p", "alice")
    assert offline.returncode == 15 and "ProfileNotConnected" in offline.stderr
    sat(backend, "disconnect", "-p", "bob")


def eventually(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    """Poll ``check`` (bounded) until it returns a truthy value; the network is asynchronous."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_roster_and_presence_from_the_command_line(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    assert backend.client is not None
    server = fresh_prosody
    try:
        for user in ("alice", "bob"):
            create_xmpp_profile(backend.client, server, user)
            sat(backend, "connect", "-p", user)
        requests = SignalRecorder(backend.client, "ContactSubscriptionRequest")
        added = sat(backend, "roster", "add", "bob@localhost", "--name", "Bob", "--group", "friends", "-p", "alice")
        assert added.returncode == 0, added.stderr

        requests.wait_for("ContactSubscriptionRequest", lambda jid, profile: profile == "bob")  # else: NotFound
        sat_answer = sat(backend, "roster", "answer", "alice@localhost", "accept", "-p", "bob")
        assert sat_answer.returncode == 0, sat_answer.stderr

        def alice_roster() -> list[dict]:  # type: ignore[type-arg]
            return json.loads(sat(backend, "-O", "json", "roster", "list", "-p", "alice").stdout)

        roster = eventually(lambda: [c for c in alice_roster() if c["subscription"] == "both"])
        assert roster == [{"jid": "bob@localhost", "name": "Bob", "subscription": "both", "ask": "",
                           "groups": ["friends"]}]
        assert sat(backend, "presence", "set", "away", "at lunch", "-p", "bob").returncode == 0
        text = eventually(lambda: "away" in (out := sat(backend, "presence", "list", "-p", "alice").stdout) and out)
        assert "bob@localhost" in text and "at lunch" in text
        assert sat(backend, "roster", "delete", "bob@localhost", "-p", "alice").returncode == 0
        assert eventually(lambda: sat(backend, "-O", "json", "roster", "list", "-p", "alice").stdout == "[]\n")
        missing = sat(backend, "roster", "delete", "nobody@localhost", "-p", "alice")
        assert missing.returncode == 11
    finally:
        for user in ("alice", "bob"):
            sat(backend, "disconnect", "-p", user)


def test_pubsub_and_blog_from_the_command_line(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    assert backend.client is not None
    create_xmpp_profile(backend.client, fresh_prosody, "alice")
    sat(backend, "connect", "-p", "alice")
    service = ["-s", "pubsub.localhost", "-n", "cli-node", "-p", "alice"]
    assert sat(backend, "pubsub", "node", "create", *service, "--keep-all").stdout == "cli-node\n"
    assert sat(backend, "pubsub", "set", *service, "<x xmlns='urn:t'>one</x>", "-i", "a").stdout == "a\n"
    piped = sat(backend, "pubsub", "set", *service, "-", "-i", "b", stdin="<x xmlns='urn:t'>two</x>")
    assert piped.returncode == 0, piped.stderr
    listed = json.loads(sat(backend, "-O", "json", "pubsub", "get", *service).stdout)
    assert len(listed["items"]) == 2 and listed["cached"] is False
    assert sat(backend, "pubsub", "cache", "sync", *service).returncode == 0
    cached = sat(backend, "pubsub", "get", *service, "--cache-only", "-m", "1")
    assert "two" in cached.stdout and "from the cache, partial" in cached.stderr
    bad = sat(backend, "pubsub", "set", *service, "<unclosed>")
    assert bad.returncode == 10 and "well-formed" in bad.stderr
    assert sat(backend, "pubsub", "node", "delete", *service).returncode == 0

    posted = sat(backend, "blog", "set", "-t", "CLI post", "--tag", "cli", "written", "from", "a", "shell", "-p", "alice")
    assert posted.returncode == 0, posted.stderr
    text = sat(backend, "blog", "get", "-p", "alice").stdout
    assert "# CLI post" in text and "[cli]" in text and "written from a shell" in text
    assert sat(backend, "blog", "delete", posted.stdout.strip(), "-p", "alice").returncode == 0
    assert "CLI post" not in sat(backend, "blog", "get", "-p", "alice").stdout
    sat(backend, "disconnect", "-p", "alice")
