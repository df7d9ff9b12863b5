"""Short storage calls on the loop's thread (:mod:`sat_backend.memory.sqlite_in_loop`),
on a real SQLite file, against other real connections to it: the lock of another
writer is waited for without stopping the loop, a writer of the worker-thread engine
that needs the loop is never deadlocked, a failed block leaves nothing, and what a
write acknowledged is in the file for any other connection."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from sat_backend.core.exceptions import Database
from sat_backend.memory import short_statements as sql
from sat_backend.memory import sqla
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import ParamGeneral
from sat_backend.memory.sqlite_in_loop import PAGE_CACHE_KIB, READER_PAGE_CACHE_KIB, InLoopDatabase, LoopConnection
from sat_backend.memory.wal_checkpoints import COMMITS_PER_CHECKPOINT
from tests.integration.test_storage import run_with_storage


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}"


def database_file(url: str) -> str:
    return url.split("///", 1)[1]


@pytest.fixture
def holder(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another connection to the same file (as another process would hold one), in
    autocommit: the test takes the write lock with ``BEGIN IMMEDIATE`` when it wants."""
    connection = sqlite3.connect(database_file(sqlite_url), isolation_level=None)
    yield connection
    connection.close()


class LoopTurns:
    """Counts the loop's turns while it runs: proof that something did not block it."""

    def __init__(self) -> None:
        self.turns = 0
        self._task = asyncio.ensure_future(self._count())

    async def _count(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.turns += 1

    def stop(self) -> int:
        self._task.cancel()
        return self.turns


def test_short_calls_run_on_the_loop_engine_for_sqlite_files(sqlite_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        assert isinstance(storage.short_calls, InLoopDatabase)
        await storage.set_param("General", "Theme", "dark", None)
        async with storage.reading() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
        assert isinstance(raw, LoopConnection)
        assert await storage.get_param("General", "Theme", None) == "dark"

    run_with_storage(sqlite_url, scenario)


def test_the_reading_connection_keeps_a_page_cache_for_a_cached_pubsub_page(sqlite_url: str) -> None:
    """The reader also reads cached pubsub pages of up to 1,000 items: its page cache
    holds one (in the writer's smaller one such a page evicted itself)."""

    async def scenario(storage: Storage) -> tuple[int, int]:
        async with storage.reading() as connection:
            reader = (await connection.exec_driver_sql("PRAGMA cache_size")).scalar_one()
        async with storage.writing() as connection:
            writer = (await connection.exec_driver_sql("PRAGMA cache_size")).scalar_one()
        return reader, writer

    assert run_with_storage(sqlite_url, scenario) == (-READER_PAGE_CACHE_KIB, -PAGE_CACHE_KIB)
    assert READER_PAGE_CACHE_KIB * 1024 > 1000 * 700  # 1,000 rows of ≈700 bytes with their search text


def test_the_write_ahead_log_is_checkpointed_in_its_own_thread(sqlite_url: str) -> None:
    """The loop's connections never checkpoint the WAL (a checkpoint waits on fsync with
    the reactor stopped: 4-6 ms every ~100 commits); the checkpoint thread copies it after
    each :data:`COMMITS_PER_CHECKPOINT` commits of theirs (one checkpoint at a time), while
    another connection reads the file (a PASSIVE checkpoint blocks nobody)."""

    async def scenario(storage: Storage) -> tuple[list[int], int, tuple[int, int, int] | None]:
        short = storage.short_calls
        assert isinstance(short, InLoopDatabase)
        settings = []
        for connect in (storage.writing, storage.reading):
            async with connect() as connection:
                settings.append((await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one())
        other = sqlite3.connect(database_file(sqlite_url), isolation_level=None)
        try:
            for batch in range(3):
                for index in range(COMMITS_PER_CHECKPOINT):
                    await storage.set_param("General", "Theme", f"theme {batch}.{index}", None)
                    assert other.execute("SELECT count(*) FROM params_general").fetchone()[0] >= 1
                # the checkpoint this batch started ends before the next batch: on a loaded
                # machine, a thread left without CPU would otherwise see the next one skipped
                async with asyncio.timeout(10):
                    await short.checkpoints.idle()
        finally:
            other.close()
        return settings, short.checkpoints.done, short.checkpoints.last

    settings, done, last = run_with_storage(sqlite_url, scenario)
    assert settings == [0, 0]
    assert done == 3
    assert last is not None and last[0] == 0 and last[1] == last[2] > 0   # not busy; every frame copied


def test_a_large_write_ahead_log_is_cut_back_once_copied(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big write (a sync, on the worker-thread engine) grows the WAL file; once the log
    is copied into the database, the next write cuts the file back to the limit instead
    of keeping it at its largest for as long as the backend runs."""
    limit = 256 * 1024
    monkeypatch.setattr(sqla, "WAL_SIZE_LIMIT", limit)
    wal = Path(database_file(sqlite_url) + "-wal")

    async def scenario(storage: Storage) -> tuple[int, int]:
        short = storage.short_calls
        assert isinstance(short, InLoopDatabase)
        async with storage.session() as session:
            await session.execute(insert(ParamGeneral), [
                {"category": "Sync", "name": f"item {index}", "value": "x" * 1000} for index in range(4000)
            ])
        grown = wal.stat().st_size
        for index in range(COMMITS_PER_CHECKPOINT):   # the checkpoint thread copies the log
            await storage.set_param("General", "Theme", f"theme {index}", None)
        async with asyncio.timeout(10):
            await short.checkpoints.idle()
        assert short.checkpoints.done == 1
        await storage.set_param("General", "Theme", "last", None)   # restarts the log
        return grown, wal.stat().st_size

    grown, after = run_with_storage(sqlite_url, scenario)
    assert grown > 4 * 1000 * 1000
    assert after <= limit


def test_reading_during_a_write_sees_the_last_commit_then_the_new_one(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.set_param("General", "Theme", "old", None)
        writer_in_block = asyncio.Event()
        reader_done = asyncio.Event()

        async def writer() -> None:
            async with storage.writing() as connection:
                await connection.execute(sql.upsert_value(sql.params_general, storage.url.get_backend_name()),
                                         {"category": "General", "name": "Theme", "value": "new"})
                writer_in_block.set()
                await reader_done.wait()

        task = asyncio.ensure_future(writer())
        await writer_in_block.wait()
        assert await storage.get_param("General", "Theme", None) == "old"
        reader_done.set()
        await task
        assert await storage.get_param("General", "Theme", None) == "new"

    run_with_storage(database_url, scenario)


def test_writers_of_this_process_take_turns(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")

        async def write(index: int) -> None:
            await storage.set_private("test", f"key{index}", {"index": index}, "alice")

        await asyncio.gather(*(write(index) for index in range(50)))
        for index in range(50):
            assert await storage.get_private("test", f"key{index}", "alice") == {"index": index}

    run_with_storage(database_url, scenario)


def test_a_failed_write_block_leaves_nothing_and_the_next_one_works(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        with pytest.raises(RuntimeError, match="in the block"):
            async with storage.writing() as connection:
                await connection.execute(sql.upsert_value(sql.params_general, storage.url.get_backend_name()),
                                         {"category": "General", "name": "Theme", "value": "lost"})
                raise RuntimeError("in the block")
        assert await storage.get_param("General", "Theme", None) is None
        await storage.set_param("General", "Theme", "kept", None)
        assert await storage.get_param("General", "Theme", None) == "kept"

    run_with_storage(database_url, scenario)


def test_another_connection_holding_the_write_lock_gives_a_clear_error_without_blocking_the_loop(
    sqlite_url: str, holder: sqlite3.Connection,
) -> None:
    async def scenario(storage: Storage) -> None:
        assert isinstance(storage.short_calls, InLoopDatabase)
        storage.short_calls.write_lock_wait = 0.3
        holder.execute("BEGIN IMMEDIATE")
        turns = LoopTurns()
        try:
            with pytest.raises(Database, match="is busy: the database's write lock stayed taken"):
                await storage.set_param("General", "Theme", "dark", None)
        finally:
            holder.rollback()
        assert turns.stop() > 3  # the loop kept running while the write waited
        # the lock is free again: the same storage writes at once
        await storage.set_param("General", "Theme", "dark", None)
        assert await storage.get_param("General", "Theme", None) == "dark"

    run_with_storage(sqlite_url, scenario)


def test_a_write_waits_for_the_lock_released_meanwhile(sqlite_url: str, holder: sqlite3.Connection) -> None:
    async def scenario(storage: Storage) -> None:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO params_general (category, name, value) VALUES ('General', 'Other', 'x')")
        asyncio.get_running_loop().call_later(0.05, holder.commit)
        await storage.set_param("General", "Theme", "dark", None)
        assert await storage.get_param("General", "Other", None) == "x"
        assert await storage.get_param("General", "Theme", None) == "dark"

    run_with_storage(sqlite_url, scenario)


def test_a_worker_engine_writer_needing_the_loop_is_not_deadlocked(sqlite_url: str) -> None:
    """A session of the worker-thread engine holds the write lock and needs the loop to
    go on (its next statement comes from a coroutine): a short write meanwhile waits
    for it on the loop instead of blocking the loop in SQLite's busy handler."""

    async def scenario(storage: Storage) -> None:
        session_wrote = asyncio.Event()

        async def long_session() -> None:
            async with storage.session() as session:
                session.add(ParamGeneral(category="General", name="FromSession", value="1"))
                await session.flush()  # the worker's connection now holds the write lock
                session_wrote.set()
                for _ in range(20):  # the loop must run for the session to go on
                    await asyncio.sleep(0.001)
                    await session.execute(select(1))

        task = asyncio.ensure_future(long_session())
        await session_wrote.wait()
        await storage.set_param("General", "Theme", "dark", None)
        await task
        assert await storage.get_param("General", "FromSession", None) == "1"
        assert await storage.get_param("General", "Theme", None) == "dark"

    run_with_storage(sqlite_url, scenario)


def test_an_acknowledged_write_is_in_the_file_for_another_connection(sqlite_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        await storage.set_private("test", "key", {"a": [1, 2]}, "alice")
        other = sqlite3.connect(database_file(sqlite_url))
        try:
            rows: list[Any] = other.execute("SELECT namespace, key, value FROM private_individual").fetchall()
        finally:
            other.close()
        assert rows == [("test", "key", '{"a": [1, 2]}')]

    run_with_storage(sqlite_url, scenario)


def test_storage_closed_and_reopened_keeps_its_loop_connections_working(sqlite_url: str) -> None:
    run_with_storage(sqlite_url, lambda storage: storage.set_param("General", "Theme", "dark", None))
    assert run_with_storage(sqlite_url, lambda storage: storage.get_param("General", "Theme", None)) == "dark"


def test_concurrent_reads_each_get_their_own_answer(database_url: str) -> None:
    """On PostgreSQL a read suspends: those that find the kept connection busy take a
    pooled one; on SQLite they run one after the other on the loop's thread."""

    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        for index in range(20):
            await storage.set_private("test", f"key{index}", [index], "alice")
        answers = await asyncio.gather(*(storage.get_private("test", f"key{index}", "alice") for index in range(20)))
        assert answers == [[index] for index in range(20)]

    run_with_storage(database_url, scenario)
