"""The storage part of a cached 1,000-item ``PsItemsGet`` broken down, SQLite beside
PostgreSQL (issue 14).

For each database: :meth:`PubsubCacheStorage.get_node` (the read's first statement),
:meth:`PubsubCacheStorage.read_encoded_page` (the page's raw XML as
one JSON array made by the database; the database's page, then the page kept in memory
by :mod:`sat_backend.memory.pubsub_cache_answers`), its wall time and the CPU of this process, and on
PostgreSQL the CPU of the server process that answers it; then the node's rows read
plainly by the driver (no aggregate). On PostgreSQL, the page's statement beside other
ways of asking the same rows, each on asyncpg alone (server CPU, this process's CPU,
wall): what the JSON escaping by ``json_agg`` costs, against sending the rows or the
unescaped text.

The items are those of ``bench_pubsub_cache.py`` (same payload), stored by a full sync;
on PostgreSQL the table is then vacuumed and analysed (:func:`~bench.bench_cache_page.settle`).
Run by hand (never in tests): ``.venv/bin/python bench/bench_cached_read_parts.py
[--items N] [--repeats N] [--rounds N]``; the two databases are measured in turns
(``--rounds`` of each, alternating), as the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.bench_cache_page import settle  # noqa: E402
from bench.bench_pubsub_cache import payload  # noqa: E402
from bench.record import run_and_wait_seconds  # noqa: E402
from sat_backend.core.received_item import stored_item  # noqa: E402
from sat_backend.core.result_set import PageRequest  # noqa: E402
from sat_backend.memory.pubsub_cache_storage import PubsubCacheStorage  # noqa: E402
from sat_backend.memory.sqla import Storage  # noqa: E402

#: the node's rows in the cache's order, as the raw floor of ``bench_pubsub_cache.py`` reads them
PLAIN = "SELECT name, data FROM pubsub_items WHERE node_id = {} ORDER BY created, id"
#: the page, as the cache's statement nests it (:mod:`sat_backend.memory.pubsub_cache_pages`)
PAGE = "(SELECT name, data, id FROM pubsub_items WHERE node_id = $1 ORDER BY created, id LIMIT $2) AS page"
#: ways of asking PostgreSQL for the page: the cache's (its aggregates), and others beside it
VARIANTS = {
    "json_agg(data)::text, array_agg(id) (the cache's)":
        f"SELECT CAST(json_agg(page.data) AS TEXT), array_agg(page.id) FROM {PAGE}",
    "string_agg(to_json(data)::text), array_agg(id)":
        f"SELECT string_agg(to_json(page.data)::text, ','), array_agg(page.id) FROM {PAGE}",
    "array_agg(data), array_agg(id) (JSON left to Python)":
        f"SELECT array_agg(page.data), array_agg(page.id) FROM {PAGE}",
    "string_agg(data), array_agg(id) (not JSON: no escaping)":
        f"SELECT string_agg(page.data, ','), array_agg(page.id) FROM {PAGE}",
    "rows (name, data, id)": f"SELECT name, data, id FROM {PAGE}",
    "count(*) (rows found, none sent)": f"SELECT count(*) FROM {PAGE}",
}
#: a figure: milliseconds per read
Figures = dict[str, float]


async def measure(url: str, items: int, repeats: int) -> Figures:
    """The figures of one fresh database (see the module's docstring)."""
    storage = Storage(url)
    await storage.initialise()
    try:
        await storage.create_profile("alice")
        cache = PubsubCacheStorage(storage)
        node = await cache.ensure_node("alice", "pubsub.localhost", "bench")
        await cache.replace_items(node.id, [
            stored_item(f"i{index}", f"<item id='i{index}'>{payload(index)}</item>") for index in range(items)])
        await settle(storage)
        request = PageRequest(0)  # max_items 0: every item, as the bench's PsItemsGet asks
        page = await cache.read_encoded_page(node.id, request)  # the order loaded, the statement prepared
        assert page is not None and page.end == items
        server = None if storage.is_sqlite else (await storage.read_rows(_BACKEND_PID, {}))[0][0]
        figures = {"reply's items, kB": len(page.items_json) / 1000}
        figures.update(await timed("get_node (the read's other statement)", lambda: cache.get_node(
            "alice", "pubsub.localhost", "bench"), repeats, server))

        async def database_page() -> Any:
            cache.answers.forget([node.id])  # the database's page, not the one kept in memory
            return await cache.read_encoded_page(node.id, request)

        figures.update(await timed("read_encoded_page (the database's page)", database_page, repeats, server))
        await cache.read_encoded_page(node.id, request)
        figures.update(await timed("read_encoded_page (the page kept in memory)",
                                   lambda: cache.read_encoded_page(node.id, request), repeats, server))
        assert storage.engine is not None
        if storage.is_sqlite:
            connection = sqlite3.connect(f"file:{storage.engine.url.database}?mode=ro", uri=True)

            async def plain() -> None:
                connection.execute(PLAIN.format("?"), (node.id,)).fetchall()

            try:
                figures.update(await timed("sqlite3 alone, plain rows", plain, repeats, None))
            finally:
                connection.close()
        else:
            figures.update(await statements_alone(
                storage.engine.url.render_as_string(hide_password=False), node.id, items, repeats))
        return figures
    finally:
        await storage.close()


#: the server process of the connection that runs it (the storage's kept reader)
_BACKEND_PID = select(func.pg_backend_pid())


async def statements_alone(url: str, node_id: int, items: int, repeats: int) -> Figures:
    """PostgreSQL: the plain rows and each of :data:`VARIANTS` on an asyncpg connection
    of their own, prepared once, measured in turns."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        server = await connection.fetchval("SELECT pg_backend_pid()")
        plain = await connection.prepare(PLAIN.format("$1"))
        prepared = {name: await connection.prepare(sql) for name, sql in VARIANTS.items()}
        calls: dict[str, Callable[[], Awaitable[Any]]] = {"asyncpg alone, plain rows": lambda: plain.fetch(node_id)}
        calls.update({f"  {name}": _fetch(statement, node_id, items) for name, statement in prepared.items()})
        rounds: list[Figures] = []
        for _ in range(3):
            figures: Figures = {}
            for name, call in calls.items():
                figures.update(await timed(name, call, max(1, repeats // 3), server))
            rounds.append(figures)
        return {key: statistics.median(figures[key] for figures in rounds) for key in rounds[0]}
    finally:
        await connection.close()


def _fetch(statement: Any, node_id: int, items: int) -> Callable[[], Awaitable[Any]]:
    return lambda: statement.fetch(node_id, items)


async def timed(name: str, call: Callable[[], Awaitable[Any]], repeats: int, server: int | None) -> Figures:
    """Median wall time of ``call``, CPU of this process and (``server``: a PostgreSQL
    server process's pid) of the server per call, in ms."""
    walls = []
    cpu, (server_cpu, _) = time.process_time(), run_and_wait_seconds(server) if server else (0.0, 0.0)
    for _ in range(repeats):
        start = time.perf_counter()
        await call()
        walls.append(time.perf_counter() - start)
    figures = {f"{name}: wall": statistics.median(walls) * 1000,
               f"{name}: CPU, this process": (time.process_time() - cpu) / repeats * 1000}
    if server:
        figures[f"{name}: CPU, server"] = (run_and_wait_seconds(server)[0] - server_cpu) / repeats * 1000
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    from tests.fixtures.postgres import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    results: dict[str, list[Figures]] = {"SQLite": [], "PostgreSQL": []}
    try:
        for _ in range(options.rounds):
            with tempfile.TemporaryDirectory() as directory:
                results["SQLite"].append(asyncio.run(measure(
                    f"sqlite+aiosqlite:///{directory}/sat.db", options.items, options.repeats)))
            results["PostgreSQL"].append(asyncio.run(measure(cluster.create_database(), options.items,
                                                             options.repeats)))
    finally:
        cluster.stop()
    for kind, runs in results.items():
        print(f"[{kind}] a page of {options.items} items, ms per read: median of {options.rounds} rounds [range]")
        for key in runs[0]:
            values = [figures[key] for figures in runs]
            print(f"  {key:80s} {statistics.median(values):7.2f}  [{min(values):.2f}–{max(values):.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
