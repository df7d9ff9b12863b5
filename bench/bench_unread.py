"""Unread counts benchmark: how long ``UnreadGet`` costs the storage on a large history.

Run by hand (never in tests): ``.venv/bin/python bench/bench_unread.py [--messages N]
[--runs 3] [--no-postgresql]``. Fills a throw-away database (a SQLite file, then a fresh
PostgreSQL database) with N messages spread over 50 conversations, 40 one-to-one (one
message in four ours) and 10 rooms. Then times, ``--runs`` calls each after a warm-up call,
the counts of every conversation (``UnreadGet("")``) and of one conversation (``MarkRead``,
the counts ``UnreadChanged`` announces), in two read states: every conversation read up to
the middle of the history (half of it unread), then up to its last
:data:`LAST_UNREAD` messages (the usual state: a few unread).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from collections.abc import Callable, Coroutine
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from bench.both_databases import on_both_databases  # noqa: E402
from bench.record import record  # noqa: E402
from sat_backend.memory.read_state_storage import ReadStateStorage  # noqa: E402
from sat_backend.memory.sqla import Storage  # noqa: E402
from sat_backend.memory.sqla_mapping import History  # noqa: E402

OWN = "alice@localhost"
PEERS = 40
ROOMS = 10
CONVERSATIONS = PEERS + ROOMS
BATCH = 10_000
#: messages left unread at the end of each conversation in the second read state
LAST_UNREAD = 10


def conversation(index: int) -> str:
    return f"peer{index}@localhost" if index < PEERS else f"room{index - PEERS}@conference.localhost"


def history_row(profile_id: int, index: int) -> dict[str, Any]:
    """Message ``index``: the conversations take turns, one message each; each has an
    origin-id and a stanza id (``bench_history_lookups`` looks them up)."""
    peer = conversation(index % CONVERSATIONS)
    turn = index // CONVERSATIONS
    row = {"id": f"m{index}", "profile_id": profile_id, "timestamp": float(index),
           "origin_id": f"o{index}", "message_id": f"s{index}"}
    if index % CONVERSATIONS >= PEERS:   # a room: an occupant's message
        return {**row, "source": peer, "source_res": f"nick{turn % 7}", "dest": OWN, "type": "groupchat"}
    if turn % 4 == 0:                    # ours, sent to the peer
        return {**row, "source": OWN, "dest": peer, "type": "chat"}
    return {**row, "source": peer, "dest": OWN, "type": "chat"}


async def fill(storage: Storage, messages: int) -> None:
    profile = await storage.create_profile("alice")
    async with storage.session() as session:
        for start in range(0, messages, BATCH):
            await session.execute(insert(History), [history_row(profile.id, index)
                                                    for index in range(start, min(start + BATCH, messages))])
    if not storage.is_sqlite:   # what autovacuum does within a minute of a bulk insert
        assert storage.engine is not None
        async with storage.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE history"))


async def measure(url: str, backend: str, messages: int, runs: int) -> None:
    storage = Storage(url)
    await storage.initialise()
    try:
        await fill(storage, messages)
        reads = ReadStateStorage(storage)
        for state, read_until in (("half read", messages / 2),
                                  ("all but the last few", messages - LAST_UNREAD * CONVERSATIONS - 0.5)):
            for index in range(CONVERSATIONS):
                await reads.mark_read("alice", conversation(index), read_until, None)
            for what, key, peer in (("all conversations", "unread_all_ms", None),
                                    ("one conversation", "unread_one_ms", conversation(7))):
                median = await time_counts(reads, peer, runs, f"[{backend}] {state}, {what}", storage.is_sqlite)
                record(key, median, backend=backend, messages=messages, runs=runs, state=state)
    finally:
        await storage.close()


async def time_counts(reads: ReadStateStorage, peer: str | None, runs: int, label: str, in_process: bool) -> float:
    """Prints each run; returns the median in ms. On SQLite the query runs in this process
    (aiosqlite's thread): its CPU time is printed too, a figure load hardly moves."""
    await reads.unread_counts("alice", OWN, peer)   # warm-up: caches, prepared statements
    times, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        counts = await reads.unread_counts("alice", OWN, peer)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    median = statistics.median(times) * 1000
    cpu_note = f"; CPU {', '.join(f'{t * 1000:.1f}' for t in cpu)} ms" if in_process else ""
    print(f"{label}: {', '.join(f'{t * 1000:.1f}' for t in times)} ms (median {median:.1f} ms; "
          f"{sum(counts.values())} unread in {len(counts)}{cpu_note})", flush=True)
    return median


def run_on_a_long_history(doc: str, measure: Callable[[str, str, int, int], Coroutine[Any, Any, None]], runs: int) -> int:
    """The command line of the benches on this history (``--messages``, ``--runs``,
    ``--no-postgresql``): ``measure(url, backend, messages, runs)`` on each database."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--no-postgresql", action="store_true")
    options = parser.parse_args()
    print(f"{options.messages:,} messages in {CONVERSATIONS} conversations ({ROOMS} rooms), {options.runs} runs each")
    on_both_databases(lambda url, backend: measure(url, backend, options.messages, options.runs),
                      postgresql=not options.no_postgresql)
    return 0


if __name__ == "__main__":
    sys.exit(run_on_a_long_history(__doc__, measure, runs=3))
