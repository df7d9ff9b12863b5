"""Pubsub cache paging benchmark: one page of 20 items from a cached node of 1k, 10k and
100k items, read by the storage calls the cache makes for ``PsItemsGet``/``PsCacheGet``
(:meth:`PubsubCache.answer`), on SQLite and PostgreSQL. Goal (issue 14): ≤ 2 ms at any
node size up to 100k.

Run by hand (never in tests): ``.venv/bin/python bench/bench_cache_page.py [--sizes 1000,10000]
[--runs 3] [--repeats 15] [--no-postgresql]``. Each run fills a fresh node through the
storage layer (a full sync: every item with the same ``created``, ties broken by row id,
as a sync stores them) and prints, per page kind, the median of ``--repeats`` reads, under
the floor of any storage call (a transaction with ``SELECT 1``). On
PostgreSQL the table is vacuumed and analysed after each fill (:func:`settle`).

Pages are read with the node's order held in memory (``memory/pubsub_cache_order.py``),
loaded by the first read after a start or after a sync or purge of the node
(notifications update it in place): that read is printed apart ("first read after a
sync", the order loaded then the page), not in the goal's line.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from functools import partial
from typing import Any, Awaitable, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from bench.record import record  # noqa: E402
from sat_backend.core.received_item import ReceivedItem, stored_item  # noqa: E402
from sat_backend.core.result_set import PageRequest  # noqa: E402
from sat_backend.memory.pubsub_cache_storage import PubsubCacheStorage  # noqa: E402
from sat_backend.memory.sqla import Storage  # noqa: E402
from sat_backend.plugins.plugin_xep_0060 import RSM_PAGE_SIZE  # noqa: E402

GOAL_MS = 2.0
PAGE = 20
#: the kind of the first read after a write (its figure is keyed by minus the node's size)
RELOAD = "first read after a sync"


def item(index: int) -> ReceivedItem:
    xml = (f"<item id='i{index:06d}'><entry xmlns='http://www.w3.org/2005/Atom'><title>post {index}</title>"
           f"<content>some words of post {index}</content></entry></item>")
    return stored_item(f"i{index:06d}", xml)


def requests(size: int) -> dict[str, dict[str, Any]]:
    """The page kinds measured, as RSM requests (XEP-0059) of ``PAGE`` items."""
    middle = f"i{size // 2:06d}"
    return {
        "first page (after '')": {"max": PAGE, "after": ""},
        "last page (no anchor)": {"max": PAGE},
        "middle, after an id": {"max": PAGE, "after": middle},
        "middle, before an id": {"max": PAGE, "before": middle},
        "middle, by index": {"max": PAGE, "index": size // 2},
    }


async def read_page(cache: PubsubCacheStorage, node_id: int, rsm: dict[str, Any]) -> list[str]:
    """What :meth:`PubsubCache.answer` reads for an RSM request (no item ids, creation order)."""
    page = await cache.read_page(node_id, PageRequest.from_rsm(rsm, RSM_PAGE_SIZE))
    return [xml for _, xml, _ in page.rows]


async def settle(storage: Storage) -> None:
    """PostgreSQL: what autovacuum does within a minute of a bulk sync (planner statistics,
    the visibility map that lets a COUNT read the index only), done now so that the
    figures are those of a node at rest, not of the first seconds after its sync."""
    if storage.is_sqlite:
        return
    assert storage.engine is not None
    async with storage.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE pubsub_items"))


async def round_trip(storage: Storage) -> None:
    """The floor under any storage call: a transaction with one trivial statement."""
    async with storage.session() as session:
        await session.execute(select(1))


async def median_ms(call: Callable[[], Awaitable[Any]], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def run(url: str, sizes: list[int], repeats: int) -> dict[tuple[int, str], float]:
    """Milliseconds (median of ``repeats``) per (node size, page kind)."""
    storage = Storage(url)
    await storage.initialise()
    figures: dict[tuple[int, str], float] = {}
    try:
        await storage.create_profile("alice")
        cache = PubsubCacheStorage(storage)
        figures[(0, "floor: session, SELECT 1")] = await median_ms(lambda: round_trip(storage), repeats)
        for size in sizes:
            node = await cache.ensure_node("alice", "pubsub.localhost", f"bench{size}")
            await cache.replace_items(node.id, [item(n) for n in range(size)])
            await settle(storage)
            for kind, rsm in requests(size).items():
                assert len(await read_page(cache, node.id, rsm)) == PAGE, kind
                figures[(size, kind)] = await median_ms(partial(read_page, cache, node.id, rsm), repeats)
            first_page = requests(size)["first page (after '')"]

            async def after_a_sync() -> None:
                cache.orders.forget([node.id])  # what a sync of the node does
                await read_page(cache, node.id, first_page)

            figures[(-size, RELOAD)] = await median_ms(after_a_sync, repeats)
    finally:
        await storage.close()
    return figures


def report(name: str, runs: list[dict[tuple[int, str], float]]) -> None:
    print(f"{name}: median ms of each run (goal ≤ {GOAL_MS:g} ms)")
    for key in runs[0]:
        size, kind = key
        values = " ".join(f"{figures[key]:7.2f}" for figures in runs)
        if size < 0:
            record("page_reload_ms", max(figures[key] for figures in runs), backend=name, size=-size, kind=kind)
            print(f"  {-size:>7} items  {kind:24s} {values}   (the order loaded, then the page: not the goal's)")
            continue
        record("page_ms" if size else "round_trip_ms", max(figures[key] for figures in runs),
               backend=name, size=size, kind=kind)
        if not size:
            print(f"  {'':>7}        {kind:24s} {values}   (no page: what any storage call costs)")
            continue
        verdict = "ok" if max(figures[key] for figures in runs) <= GOAL_MS else "OVER"
        print(f"  {size:>7} items  {kind:24s} {values}   goal ≤ {GOAL_MS:g}  {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    if not options.no_sqlite:
        runs = []
        for _ in range(options.runs):
            with tempfile.TemporaryDirectory() as directory:
                runs.append(asyncio.run(run(f"sqlite+aiosqlite:///{directory}/bench.db", sizes, options.repeats)))
        report("SQLite (file)", runs)
    if not options.no_postgresql:
        from tests.fixtures.postgres import PostgresCluster

        cluster = PostgresCluster()
        cluster.start()
        try:
            runs = [asyncio.run(run(cluster.create_database(), sizes, options.repeats)) for _ in range(options.runs)]
        finally:
            cluster.stop()
        report("PostgreSQL", runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
