"""The WAL checkpoints of :mod:`sat_backend.memory.wal_checkpoints` on real SQLite files:
one after each given number of commits, one at a time, off the loop's thread; a
checkpoint that fails is logged and the next one is tried after as many commits again."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from sat_backend.memory import wal_checkpoints
from sat_backend.memory.wal_checkpoints import WalCheckpoints


def _wal_database(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE t (v TEXT)")
    return connection


async def _commit(connection: sqlite3.Connection, checkpoints: WalCheckpoints, count: int) -> None:
    for index in range(count):
        connection.execute("INSERT INTO t VALUES (?)", (f"row {index}",))
        checkpoints.committed(1)
        await asyncio.sleep(0)


async def _settled(checkpoints: WalCheckpoints) -> None:
    """The checkpoint under way, if any, has ended and been counted."""
    async with asyncio.timeout(10):
        await checkpoints.idle()


def test_the_log_is_copied_after_each_given_number_of_commits(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, tuple[int, int, int] | None, int, list[str]]:
        writer = _wal_database(tmp_path / "sat.db")
        checkpoints = WalCheckpoints(str(tmp_path / "sat.db"), commits_per_checkpoint=10)
        try:
            await _commit(writer, checkpoints, 9)
            await _settled(checkpoints)
            before = checkpoints.done   # 9 commits: none yet
            await _commit(writer, checkpoints, 1)
            await _settled(checkpoints)
            threads = [thread.name for thread in threading.enumerate() if thread.name.startswith("sqlite-checkpoint")]
            return before, checkpoints.last, checkpoints.done, threads
        finally:
            await checkpoints.close()
            writer.close()

    before, last, done, threads = asyncio.run(scenario())
    assert (before, done) == (0, 1)
    assert last is not None and last[0] == 0 and last[1] == last[2] > 0   # every frame copied
    assert threads == ["sqlite-checkpoint_0"]   # the thread it ran on, not the loop's


def test_a_large_transaction_is_copied_without_waiting_for_more_commits(tmp_path: Path) -> None:
    """One commit of many rows (a node's sync on the loop's writer) is a long log: it is
    copied at once, not after the next hundred commits."""

    async def scenario() -> tuple[int, tuple[int, int, int] | None]:
        writer = _wal_database(tmp_path / "sat.db")
        checkpoints = WalCheckpoints(str(tmp_path / "sat.db"), commits_per_checkpoint=100, rows_per_checkpoint=500)
        try:
            writer.execute("BEGIN")
            writer.executemany("INSERT INTO t VALUES (?)", [(f"row {index}" * 20,) for index in range(600)])
            writer.execute("COMMIT")
            checkpoints.committed(writer.total_changes)
            await _settled(checkpoints)
            return checkpoints.done, checkpoints.last
        finally:
            await checkpoints.close()
            writer.close()

    done, last = asyncio.run(scenario())
    assert done == 1
    assert last is not None and last[1] == last[2] > 10


def test_a_failed_checkpoint_is_logged_and_the_next_one_tried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The database cannot be opened (its directory is not there yet): the checkpoint
    fails, the loop goes on; once it can be, the next checkpoint copies the log."""
    path = tmp_path / "later" / "sat.db"

    async def scenario() -> tuple[int, int, tuple[int, int, int] | None]:
        checkpoints = WalCheckpoints(str(path), commits_per_checkpoint=5)
        try:
            for _ in range(5):
                checkpoints.committed(1)
            await _settled(checkpoints)
            assert any("write-ahead log failed" in record.getMessage() for record in caplog.records)
            failed = checkpoints.done
            path.parent.mkdir()
            writer = _wal_database(path)
            try:
                await _commit(writer, checkpoints, 5)
                await _settled(checkpoints)
            finally:
                writer.close()
            return failed, checkpoints.done, checkpoints.last
        finally:
            await checkpoints.close()

    with caplog.at_level(logging.WARNING, logger="sat_backend.memory.wal_checkpoints"):
        failed, done, last = asyncio.run(scenario())
    assert failed == 0 and done == 1
    assert last is not None and last[1] == last[2] > 0


def test_under_steady_writes_the_log_is_started_over_not_grown(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit landing while the thread copies keeps SQLite from starting the log over:
    with ``PASSIVE`` checkpoints alone the log grew by every commit (on a small disk it
    filled the space a catch-up needed). Once the log reaches ``RESTART_LOG_FRAMES``, a
    ``RESTART`` checkpoint makes the next write start it over: the file stays bounded."""
    monkeypatch.setattr(wal_checkpoints, "RESTART_LOG_FRAMES", 50)
    page = "x" * 4000
    commits = 3000

    async def scenario() -> tuple[int, int, int]:
        writer = _wal_database(tmp_path / "sat.db")
        checkpoints = WalCheckpoints(str(tmp_path / "sat.db"), commits_per_checkpoint=10)
        stop = asyncio.Event()

        async def reader() -> None:  # a reader of the latest snapshot, as the loop's is
            connection = sqlite3.connect(tmp_path / "sat.db", isolation_level=None)
            while not stop.is_set():
                connection.execute("SELECT count(*) FROM t").fetchall()
                await asyncio.sleep(0)
            connection.close()

        reading = asyncio.ensure_future(reader())
        try:
            for _ in range(commits):
                writer.execute("INSERT INTO t VALUES (?)", (page,))  # a commit of its own
                checkpoints.committed(1)
                await asyncio.sleep(0)
            await _settled(checkpoints)
            stop.set()
            await reading
            return checkpoints.restarts, checkpoints.done, (tmp_path / "sat.db-wal").stat().st_size
        finally:
            await checkpoints.close()
            writer.close()

    restarts, done, wal_bytes = asyncio.run(scenario())
    assert restarts > 0 and done > restarts
    # 3,000 commits of a page or two each: ~12-24 MB of log never started over
    assert wal_bytes < commits * 4096 // 10
