"""Unread counts benchmark: how long ``UnreadGet`` costs the storage on a large history.

Run by hand (never in tests): ``.venv/bin/python bench/bench_unread.py [--messages N]``.
Fills a throw-away SQLite database with N received messages spread over 50
conversations (half of each marked read), then times, 3 runs each: the counts of every
conversation (``UnreadGet("")``, also what ``UnreadChanged`` computes once per batch)
and of one conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from sat_backend.memory.read_state_storage import ReadStateStorage  # noqa: E402
from sat_backend.memory.sqla import Storage  # noqa: E402
from sat_backend.memory.sqla_mapping import History  # noqa: E402

OWN = "alice@localhost"
PEERS = 50


async def bench(messages: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        storage = Storage(f"sqlite+aiosqlite:///{Path(directory) / 'sat.db'}")
        await storage.initialise()
        profile = await storage.create_profile("alice")
        rows = [
            {"id": f"m{index}", "profile_id": profile.id, "timestamp": float(index), "source": f"peer{index % PEERS}@localhost",
             "dest": OWN, "type": "chat"}
            for index in range(messages)
        ]
        async with storage.session() as session:
            for start in range(0, messages, 10_000):
                await session.execute(insert(History), rows[start:start + 10_000])
        reads = ReadStateStorage(storage)
        for peer in range(PEERS):
            await reads.mark_read("alice", f"peer{peer}@localhost", messages / 2, None)
        for what, peer in (("all conversations", None), ("one conversation", "peer7@localhost")):
            times = []
            for _ in range(3):
                began = time.perf_counter()
                counts = await reads.unread_counts("alice", OWN, peer)
                times.append(time.perf_counter() - began)
            print(f"{what}: {', '.join(f'{t * 1000:.1f}' for t in times)} ms "
                  f"(median {statistics.median(times) * 1000:.1f} ms; {sum(counts.values())} unread, {messages} in history)")
        await storage.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    asyncio.run(bench(parser.parse_args().messages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
