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


def _log_bytes_after_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            restart_log_frames: int) -> tuple[int, int, int]:
    """Rounds of ten commits of a page each, a checkpoint at the end of each round. Under
    steady writes a commit lands while the thread copies, so a ``PASSIVE`` checkpoint
    leaves frames uncopied and the next write appends instead of starting the log over.
    A reader holding the snapshot of the round's start does the same, in a fixed order:
    the checkpoint cannot copy the frames it does not see. The reader ends within
    ``RESTART_WAIT`` (here: before the checkpoint) when a ``RESTART`` is due, as the
    loop's reads do. Returns (restarts, checkpoints, bytes of the log file)."""
    rounds, per_round, page = 100, 10, "x" * 4000
    monkeypatch.setattr(wal_checkpoints, "RESTART_LOG_FRAMES", restart_log_frames)

    async def scenario() -> tuple[int, int, int]:
        writer = _wal_database(tmp_path / "sat.db")
        reader = sqlite3.connect(tmp_path / "sat.db", isolation_level=None)
        checkpoints = WalCheckpoints(str(tmp_path / "sat.db"), commits_per_checkpoint=per_round)
        try:
            for _ in range(rounds):
                if not checkpoints.restart_due:
                    reader.execute("BEGIN")
                    reader.execute("SELECT count(*) FROM t").fetchall()
                for _ in range(per_round):
                    writer.execute("INSERT INTO t VALUES (?)", (page,))  # a commit of its own
                    checkpoints.committed(1)
                await _settled(checkpoints)
                if reader.in_transaction:
                    reader.execute("COMMIT")
            return checkpoints.restarts, checkpoints.done, (tmp_path / "sat.db-wal").stat().st_size
        finally:
            await checkpoints.close()
            reader.close()
            writer.close()

    return asyncio.run(scenario())


def test_under_steady_writes_the_log_is_started_over_not_grown(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``PASSIVE`` checkpoints alone the log grew by every commit (on a small disk
    it filled the space a catch-up needed). Once the log reaches ``RESTART_LOG_FRAMES``,
    a ``RESTART`` checkpoint makes the next write start it over: the file stays bounded."""
    (tmp_path / "passive").mkdir()
    (tmp_path / "restart").mkdir()
    never = 10**9
    restarts_never, done_never, grown = _log_bytes_after_rounds(tmp_path / "passive", monkeypatch, never)
    restarts, done, bounded = _log_bytes_after_rounds(tmp_path / "restart", monkeypatch, 50)
    frame = 4096 + 24   # a page and its frame header; the log file has a 32-byte header
    assert (restarts_never, done_never) == (0, 100)   # the scenario: the log is never started over
    assert grown >= 1000 * frame                     # a frame or more per commit, all kept
    frames_per_round = (grown - 32) // frame // 100
    assert done == 100 and restarts > 0
    # started over once 50 frames or more were found: the round that found them and the
    # round of the RESTART come on top, no more
    assert bounded <= (50 + 2 * frames_per_round) * frame + 32
    assert bounded < grown // 10
