"""Archive catch-up (XEP-0313) keeps up: the position follows live messages, a catch-up
reads to the end of the archive, a server restart mid-chat and a flooding peer lose
nothing and duplicate nothing (issue 12, defect 6)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator

import pytest

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer, prosody_server
from tests.fixtures.tmpfs import mounted_tmpfs
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.archive_helpers import (
    catch_ups,
    duplicates,
    history_bodies,
    wait_for_history,
    wait_until,
)
from tests.integration.xmpp_helpers import create_xmpp_profile

ALICE = "alice@localhost"
#: more than two archive pages (Prosody answers at most 50 messages a page)
MISSED = 120
#: a window this long (seconds) between alice's reconnection attempts is enough to restart
#: Prosody and send the missed messages (≈2 s measured)
RECONNECTION_WINDOW = 6.0
RECONNECTING = re.compile(r"alice: reconnecting in ([0-9.]+) s")
#: messages of the flood: 10,000 are stored in ≈ 40-50 s on a shared 2-core machine
#: (≈ 200-265 messages/s, end to end)
FLOOD = 10_000
#: the flood may grow the backend's RSS by at most this much (measured: +50 to +60 MiB
#: from ≈ 97 MiB, peak ≈ 164 MiB; CPython keeps most freed memory for reuse)
FLOOD_RSS_GROWTH = 100 * 1024 * 1024
#: a reconnection after a flood fetches at most this many messages again
REREAD_BOUND = 100


@pytest.fixture
def server(fresh_prosody: ProsodyServer) -> ProsodyServer:
    """A server of this test's own: archives must start empty."""
    return fresh_prosody


@pytest.fixture
def fast_prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    """A server of this test's own with its data on a tmpfs: on a disk each message it
    archives costs an fsync (≈140/s here), and the flood would measure the disk, not us."""
    directory = tmp_path_factory.mktemp("prosody-tmpfs")
    with mounted_tmpfs(directory, "512m"):
        yield from prosody_server(directory, XMPP_ACCOUNTS)


def numbered(prefix: str, count: int) -> list[str]:
    return [f"{prefix} {index}" for index in range(count)]


def rss(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a process in bytes, from ``/proc/PID/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reconnection_delays(backend: BackendProcess, log_offset: int) -> list[float]:
    return [float(delay) for delay in RECONNECTING.findall(backend.log_text()[log_offset:])]


def test_prosody_restart_mid_chat_loses_nothing(backend: BackendProcess, server: ProsodyServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, server, "alice")
    signals = SignalRecorder(client, "Connected", "Disconnected")
    client.connect("alice")
    signals.wait_for("Connected")
    before, missed, after = numbered("before", 20), numbered("missed", MISSED), numbered("after", 20)
    with connected_peer(server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.send_messages(ALICE, before)
        wait_for_history(client, "alice", set(before), timeout=30)
        client.message_send("carol@localhost", {"": "alice before the restart"}, {}, "chat", "{}", "alice")
        carol.wait_message(lambda message: message["body"] == "alice before the restart")

    log_offset = len(backend.log_text())
    server.stop()
    signals.wait_for("Disconnected")
    # alice backs off while the server is down: start it again when her next attempt is far
    # enough away that the messages sent meanwhile are missed, i.e. only in the archive
    wait_until(lambda: any(delay >= RECONNECTION_WINDOW for delay in reconnection_delays(backend, log_offset)),
               60, f"a reconnection delay of {RECONNECTION_WINDOW} s")
    server.start()
    with connected_peer(server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.send_messages(ALICE, missed)
        carol.call(lambda xmpp: xmpp.plugin["xep_0199"].ping(jid="localhost", timeout=10))
    assert not client.is_connected("alice"), "alice reconnected too early: the test window was missed"

    signals.wait_for("Connected", timeout=30)
    reconnected = time.monotonic()
    wait_for_history(client, "alice", set(missed), timeout=30)
    print(f"catch-up after the restart: {time.monotonic() - reconnected:.2f} s for {MISSED} missed messages")
    with connected_peer(server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.send_messages(ALICE, after)
        found = wait_for_history(client, "alice", set(after), timeout=30)
    assert duplicates(found) == {}
    assert sorted(found) == sorted([*before, "alice before the restart", *missed, *after])


def test_flooding_peer_loses_nothing_and_reconnection_rereads_little(
    backend: BackendProcess, fast_prosody: ProsodyServer
) -> None:
    server = fast_prosody
    client = backend.client
    assert client is not None and backend.process is not None
    create_xmpp_profile(client, server, "alice")
    with connected_peer(server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.send_message(ALICE, "before the first connection")
    client.connect("alice")  # the first catch-up sets the position at that message
    wait_for_history(client, "alice", {"before the first connection"}, timeout=30)
    pid = backend.process.pid
    rss_before = rss(pid)

    flood = numbered("flood", FLOOD)
    with connected_peer(server, "carol", XMPP_ACCOUNTS["carol"], timeout=60) as carol:
        started = time.monotonic()
        carol.send_messages(ALICE, flood)
        wait_until(lambda: history_bodies_tail(client) == flood[-1], 240, "the last flood message stored", 0.5)
        elapsed = time.monotonic() - started
    found = history_bodies(client, "alice")
    rss_after, rss_peak = rss(pid), rss(pid, "VmHWM")
    print(f"flood: {FLOOD} messages stored in {elapsed:.1f} s ({FLOOD / elapsed:.0f}/s); RSS before "
          f"{rss_before >> 20} MiB, after {rss_after >> 20} MiB, peak {rss_peak >> 20} MiB")
    assert backend.process.poll() is None
    assert duplicates(found) == {}
    assert set(flood) <= set(found) and len(found) == FLOOD + 1
    assert rss_after - rss_before < FLOOD_RSS_GROWTH

    # the position followed the flood, and was saved when the backend stopped
    client.disconnect("alice")
    client = backend.restart()
    done_before = len(catch_ups(backend, "alice"))
    client.connect("alice")
    wait_until(lambda: len(catch_ups(backend, "alice")) > done_before, 30, "the catch-up after reconnecting")
    pages, fetched, new = catch_ups(backend, "alice")[-1]
    assert fetched <= REREAD_BOUND and new == 0, (pages, fetched, new)
    assert len(history_bodies(client, "alice")) == FLOOD + 1


def history_bodies_tail(client: BridgeClient) -> str:
    """Body of alice's most recent message."""
    rows = client.history_get("", "", 1, False, "{}", "alice")
    return rows[-1][4].get("", "") if rows else ""


def test_a_profile_made_again_starts_a_new_position(backend: BackendProcess, server: ProsodyServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, server, "alice")
    client.connect("alice")
    with connected_peer(server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.send_messages(ALICE, ["first life"])
        wait_for_history(client, "alice", {"first life"}, timeout=30)
    client.profile_delete("alice")
    create_xmpp_profile(client, server, "alice")
    done = len(catch_ups(backend, "alice"))
    client.connect("alice")
    # a new profile's first catch-up imports the most recent page, as on any first connection
    wait_until(lambda: len(catch_ups(backend, "alice")) > done, 30, "the first catch-up of the new profile")
    assert history_bodies(client, "alice") == ["first life"]
