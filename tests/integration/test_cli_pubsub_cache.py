"""``sat pubsub cache get|sync|search|purge|reset`` as a user runs them, against a real
backend and Prosody."""

from __future__ import annotations

import json
import os
import pty
import subprocess

from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer
from tests.integration.test_cli import SAT, sat
from tests.integration.xmpp_helpers import create_xmpp_profile

BLOG = ["-n", "urn:xmpp:microblog:0", "-p", "alice"]


def sat_on_terminal(backend: BackendProcess, *args: str) -> str:
    """Run ``sat`` with its stderr on a pseudo-terminal; returns what it wrote there."""
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run([SAT, *args], env=backend.env, stdout=subprocess.PIPE, stderr=terminal,
                                text=True, timeout=60, check=False)
        assert result.returncode == 0
        os.close(terminal)
        terminal = -1
        written = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not chunk:
                break
            written += chunk
        return written.decode()
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)


def test_cache_commands(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    assert backend.client is not None
    create_xmpp_profile(backend.client, fresh_prosody, "alice")
    assert sat(backend, "connect", "-p", "alice").returncode == 0
    for title, tag, text in (("Shell post", "cli", "written from a terminal"),
                             ("Garden", "plants", "tomatoes and entry-level gardening")):
        posted = sat(backend, "blog", "set", "-t", title, "--tag", tag, text, "-p", "alice")
        assert posted.returncode == 0, posted.stderr
    assert sat(backend, "blog", "get", "-p", "alice").returncode == 0  # first read: analysed as a blog
    synced = sat(backend, "pubsub", "cache", "sync", *BLOG)
    assert synced.returncode == 0 and synced.stdout == "synchronised\n", synced.stderr
    # again, now that no sync started by the first read is running: every progress signal is seen
    resynced = sat(backend, "pubsub", "cache", "sync", *BLOG)
    bar = "synchronising urn:xmpp:microblog:0 [{}] {}"
    assert resynced.stderr.splitlines() == [bar.format("." * 30, "0/2 (0%)"), bar.format("#" * 30, "2/2 (100%)")]
    on_terminal = sat_on_terminal(backend, "pubsub", "cache", "sync", *BLOG)
    # one line redrawn in place, ended once (the terminal writes "\n" as "\r\n")
    assert on_terminal == (f"\r{bar.format('.' * 30, '0/2 (0%)')}\x1b[K"
                           f"\r{bar.format('#' * 30, '2/2 (100%)')}\x1b[K\r\n")

    found = json.loads(sat(backend, "-O", "json", "pubsub", "cache", "search", "--fts", "terminal").stdout)
    assert [post["title"] for post in found] == ["Shell post"]
    assert found[0]["node_profile"] == "alice" and found[0]["pubsub_node"] == "urn:xmpp:microblog:0"
    by_tag = json.loads(sat(backend, "-O", "json", "pubsub", "cache", "search", "-F", "tags", "overlap", "plants",
                            "-p", "alice", "-t", "blog").stdout)
    assert [post["title"] for post in by_tag] == ["Garden"]
    ordered = json.loads(sat(backend, "-O", "json", "pubsub", "cache", "search", "--order-by", "title",
                             "--desc").stdout)
    assert [post["title"] for post in ordered] == ["Shell post", "Garden"]
    assert json.loads(sat(backend, "-O", "json", "pubsub", "cache", "search", "--order-by", "title",
                          "--index", "1", "--limit", "1").stdout)[0]["title"] == "Shell post"

    table = sat(backend, "pubsub", "cache", "search", "-F", "title", "==", "Garden").stdout.splitlines()
    assert table[0].split() == ["PROFILE", "SERVICE", "NODE", "ITEM", "TITLE"]
    assert len(table) == 2 and table[1].split()[:3] == ["alice", "alice@localhost", "urn:xmpp:microblog:0"]
    payload = sat(backend, "pubsub", "cache", "search", "--fts", "tomatoes", "--payload").stdout
    assert payload.startswith("# ") and "<entry" in payload and "tomatoes" in payload
    assert sat(backend, "-O", "json", "pubsub", "cache", "search", "--fts", "entry").stdout.count('"Garden"') == 1

    bad_op = sat(backend, "pubsub", "cache", "search", "-F", "title", "=~", "x")
    assert bad_op.returncode == 10 and "unknown operator" in bad_op.stderr
    assert sat(backend, "pubsub", "cache", "search", "--fts=-nothing").returncode == 10
    assert sat(backend, "pubsub", "cache", "search", "--limit", "5000").returncode == 10

    cached = json.loads(sat(backend, "-O", "json", "pubsub", "cache", "get", *BLOG).stdout)
    assert len(cached["items"]) == 2 and cached["cached"] is True
    unfiltered = sat(backend, "pubsub", "cache", "purge")
    assert unfiltered.returncode == 10 and "--all" in unfiltered.stderr
    assert sat(backend, "pubsub", "cache", "purge", "-n", "urn:xmpp:microblog:0", "-p", "alice").returncode == 0
    assert json.loads(sat(backend, "-O", "json", "pubsub", "cache", "search").stdout) == []
    assert sat(backend, "pubsub", "cache", "get", *BLOG).returncode == 11  # no longer served from the cache
    assert sat(backend, "pubsub", "cache", "reset").stdout == "cache emptied\n"
    sat(backend, "disconnect", "-p", "alice")
