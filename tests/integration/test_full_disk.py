"""A full disk loses no message (issue 12, defect 5): the backend's data dir is a small
tmpfs filled up for real. A message we send is stored before it is sent, so a refused
``MessageSend`` sent nothing and its retry reaches the peer once; received messages that
could not be stored hold the archive position, and the catch-up retried after space is
freed brings every one of them back, once."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Iterator

import pytest

from sat_bridge.errors import Database
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.tmpfs import fill, mounted_tmpfs
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.archive_helpers import catch_ups, duplicates, history_bodies, wait_for_history, wait_until
from tests.integration.xmpp_helpers import create_xmpp_profile

ALICE = "alice@localhost"
#: room for the new database and its WAL; the rest is filled by the test
DATA_DIR_SIZE = "16m"
#: messages MessageSend tries while the disk is full (it must refuse one long before)
MAX_SEND_ATTEMPTS = 200
RECEIVED_WHILE_FULL = 600
NOT_STORED_LINE = "a received message could not be stored"


@pytest.fixture
def small_disk_backend(backend_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[BackendProcess, Path]]:
    """The backend with its data dir (database, WAL, key) on a 16 MB tmpfs."""
    data_dir = Path(backend_env["XDG_DATA_HOME"]) / "sat"
    with mounted_tmpfs(data_dir, DATA_DIR_SIZE):
        process = BackendProcess(backend_env, tmp_path / "backend.log")
        try:
            process.start()
            yield process, data_dir
        finally:
            process.stop()


def test_full_disk_loses_and_duplicates_no_message(
    small_disk_backend: tuple[BackendProcess, Path], fresh_prosody: ProsodyServer
) -> None:
    backend, data_dir = small_disk_backend
    server = fresh_prosody
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, server, "alice")
    signals = SignalRecorder(client, "StorageStatus")
    client.connect("alice")
    with connected_peer(server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.send_message(ALICE, "before the disk is full")
        wait_for_history(client, "alice", {"before the disk is full"}, timeout=30)

        filler = data_dir / "filler"
        fill(filler)
        sent, refused = [], []
        for index in range(MAX_SEND_ATTEMPTS):
            text = f"alice {index}"
            try:
                client.message_send("carol@localhost", {"": text}, {}, "chat", "{}", "alice")
            except Database:
                refused.append(text)
                break
            sent.append(text)
        assert refused, f"MessageSend never failed in {MAX_SEND_ATTEMPTS} tries on a full disk"

        received = [f"while full {index}" for index in range(RECEIVED_WHILE_FULL)]
        carol.send_messages(ALICE, received)
        wait_until(
            lambda: backend.log_text().count(NOT_STORED_LINE)
            + sum(body in received for body in history_bodies(client, "alice")) >= RECEIVED_WHILE_FULL,
            60, "every received message handled",
        )
        assert backend.log_text().count(NOT_STORED_LINE) > 0

        filler.unlink()
        # the catch-up retried once space is free brings back what could not be stored
        wait_for_history(client, "alice", set(received), timeout=60)
        # the user retries what MessageSend refused: it was never sent, so it arrives once
        for text in refused:
            client.message_send("carol@localhost", {"": text}, {}, "chat", "{}", "alice")
        ours = [*sent, *refused]
        wait_until(lambda: set(ours) <= set(carol.received_bodies()), 30, "carol received alice's messages")
        by_count = collections.Counter(body for body in carol.received_bodies() if body in ours)
        assert {body: count for body, count in by_count.items() if count != 1} == {}

    # the user was told, on the bus and in the log
    state, detail, _profile = signals.wait_for("StorageStatus", lambda state, detail, profile: state == "full")
    assert "full" in detail and "the disk holding the database" in backend.log_text()
    signals.wait_for("StorageStatus", lambda state, detail, profile: state == "ok")
    expected = sorted(["before the disk is full", *ours, *received])
    found = history_bodies(client, "alice")
    assert duplicates(found) == {} and sorted(found) == expected
    # and a reconnection finds nothing more to add
    done = len(catch_ups(backend, "alice"))
    client.disconnect("alice")
    client.connect("alice")
    wait_until(lambda: len(catch_ups(backend, "alice")) > done, 30, "the catch-up after reconnecting")
    assert sorted(history_bodies(client, "alice")) == expected
