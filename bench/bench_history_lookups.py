"""History look-ups benchmark: what each received message or change asks of a long history.

Run by hand (never in tests): ``.venv/bin/python bench/bench_history_lookups.py
[--messages N] [--runs 200] [--no-postgresql]``. Fills a throw-away database (a SQLite
file, then a fresh PostgreSQL database) as ``bench_unread.py`` does (N messages over 50
conversations, each with an origin-id and a stanza id), then times, ``--runs`` times each
after a warm-up:

* storing a received message whose origin-id is new (the look-up of our own messages
  coming back, then the insert), and one whose origin-id is known (the look-up alone);
* finding the message a change names (XEP-0308/0424/0444): an old one of the
  conversation, and one that is not there (a change ahead of its message).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_unread import CONVERSATIONS, OWN, conversation, fill, run_on_a_long_history  # noqa: E402
from bench.record import record  # noqa: E402
from sat_backend.memory.history_entry import HistoryEntry  # noqa: E402
from sat_backend.memory.message_changes_storage import Conversation, MessageChangesStorage  # noqa: E402
from sat_backend.memory.sqla import Storage  # noqa: E402

PEER = conversation(1)   # a one-to-one conversation: message 1 is the peer's, then every 50th


def received(uid: str, origin_id: str) -> HistoryEntry:
    return HistoryEntry(id=uid, timestamp=1e9, source=PEER, dest=OWN, type="chat", bodies={"": "hi"},
                        subjects={}, origin_id=origin_id)


async def measure(url: str, backend: str, messages: int, runs: int) -> None:
    storage = Storage(url)
    await storage.initialise()
    try:
        await fill(storage, messages)
        changes = MessageChangesStorage(storage)
        between = Conversation(OWN, PEER)
        known = f"o{1 + CONVERSATIONS}"   # the peer's second message: an old one
        cases: list[tuple[str, str, Callable[[int], Awaitable[Any]]]] = [
            ("a received message, new origin-id (look-up + insert)", "store_received_ms",
             lambda run: storage.add_to_history("alice", received(f"new{run}", f"fresh{run}"))),
            ("a received message, known origin-id (look-up only)", "store_known_ms",
             lambda run: storage.add_to_history("alice", received(f"again{run}", known))),
            ("the message a change names, an old one", "referenced_old_ms",
             lambda run: changes.find_referenced("alice", known, between)),
            ("the message a change names, none", "referenced_none_ms",
             lambda run: changes.find_referenced("alice", "nothing", between)),
        ]
        for label, key, call in cases:
            await call(-1)   # warm-up: caches, prepared statements
            times = []
            for run in range(runs):
                began = time.perf_counter()
                await call(run)
                times.append(time.perf_counter() - began)
            median = statistics.median(times) * 1000
            print(f"[{backend}] {label}: median {median:.3f} ms (min {min(times) * 1000:.3f}, "
                  f"max {max(times) * 1000:.3f}, {runs} runs)", flush=True)
            record(key, median, backend=backend, messages=messages, runs=runs)
    finally:
        await storage.close()


if __name__ == "__main__":
    sys.exit(run_on_a_long_history(__doc__, measure, runs=200))
