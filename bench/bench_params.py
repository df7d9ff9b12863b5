"""Param read benchmark: ``ParamValues.get_public`` on a real SQLite file and on
PostgreSQL, with the in-memory cache and without it (a cache that never keeps anything:
one database read per call, as before the cache), in µs per call, for the
``Pubsub/UseCache`` check the pubsub cache makes on every read. The uncached figure is
issue 14's "one DB round trip" (goal ≤ 0.2 ms). Beside it, its floor: the same select
(``start_sql.PARAM_INDIVIDUAL``, the same bound values) run by the plain driver on a
connection of its own, ``sqlite3`` on the same file or a prepared statement of
``asyncpg`` on the same database, in the same loop: what no storage layer can go under
on this machine.

Run by hand (never in tests): ``.venv/bin/python bench/bench_params.py [--calls N] [--runs 3]
[--no-postgresql]``. Each run uses a fresh database; the recorded figure is the median run.
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

from bench.record import record  # noqa: E402
from sat_backend.core.param_values import CacheKey, ParamCache, ParamValues  # noqa: E402
from sat_backend.core.params import ParamsRegistry  # noqa: E402
from sat_backend.core.secrets import KEY_SIZE, SecretBox  # noqa: E402
from sat_backend.memory.sqla import Storage  # noqa: E402
from sat_backend.memory.start_sql import PARAM_INDIVIDUAL  # noqa: E402
from sat_backend.plugins.plugin_pubsub_cache import CACHE_PARAMS  # noqa: E402


class NoCache(ParamCache):
    """Keeps nothing: every read goes to the database."""

    def put(self, key: CacheKey, value: str | None, generation: int) -> None:
        return None


async def per_call(values: ParamValues, calls: int) -> float:
    """µs per ``get_public`` call, after one warm-up call."""
    await values.get_public("Pubsub", "UseCache", "bench")
    start = time.perf_counter()
    for _ in range(calls):
        await values.get_public("Pubsub", "UseCache", "bench")
    return (time.perf_counter() - start) / calls * 1e6


async def measure(url: str, calls: int) -> tuple[float, float, float]:
    """(uncached, cached, plain driver) µs per call on a fresh database at ``url``."""
    storage = Storage(url)
    await storage.initialise()
    try:
        registry = ParamsRegistry.with_core_params()
        for definition in CACHE_PARAMS:
            registry.declare(definition)
        values = ParamValues(registry, storage, SecretBox(bytes(KEY_SIZE)))
        await storage.create_profile("bench")
        await values.set("Pubsub", "UseCache", "true", "bench")
        cached = await per_call(values, calls)
        values.cache = NoCache()
        uncached = await per_call(values, calls)
        bound = {"category": "Pubsub", "name": "UseCache", "profile_id": await storage.profile_id(None, "bench")}
        expected = await storage.get_param("Pubsub", "UseCache", "bench")
    finally:
        await storage.close()
    driver = await (plain_asyncpg if url.startswith("postgresql") else plain_sqlite3)(url, bound, expected, calls)
    return uncached, cached, driver


async def plain_sqlite3(url: str, bound: dict[str, object], expected: object, calls: int) -> float:
    """µs per execution of the param read by ``sqlite3`` itself on the same file."""
    import sqlite3

    connection = sqlite3.connect(url.split(":///", 1)[1])
    try:
        read = lambda: connection.execute(PARAM_INDIVIDUAL.sql, bound).fetchall()  # noqa: E731
        assert read() == [(expected,)], "the plain read must find what get_public read"
        start = time.perf_counter()
        for _ in range(calls):
            read()
        return (time.perf_counter() - start) / calls * 1e6
    finally:
        connection.close()


async def plain_asyncpg(url: str, bound: dict[str, object], expected: object, calls: int) -> float:
    """µs per execution of the param read by a prepared ``asyncpg`` statement, awaited
    in this loop as the storage's is."""
    import asyncpg

    sql = PARAM_INDIVIDUAL.sql
    for index, name in enumerate(PARAM_INDIVIDUAL.binds, 1):
        sql = sql.replace(f":{name}", f"${index}")
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        statement = await connection.prepare(sql)
        arguments = [bound[name] for name in PARAM_INDIVIDUAL.binds]
        assert [tuple(row) for row in await statement.fetch(*arguments)] == [(expected,)], \
            "the plain read must find what get_public read"
        start = time.perf_counter()
        for _ in range(calls):
            await statement.fetch(*arguments)
        return (time.perf_counter() - start) / calls * 1e6
    finally:
        await connection.close()


def report(backend: str, name: str, calls: int, runs: list[tuple[float, float, float]]) -> None:
    uncached = [run[0] for run in runs]
    cached = [run[1] for run in runs]
    driver = [run[2] for run in runs]
    record("param_read_uncached_ms", statistics.median(uncached) / 1000, backend=backend, runs=len(runs))
    record("param_read_driver_ms", statistics.median(driver) / 1000, backend=backend, runs=len(runs))
    print(f"get_public x {calls} on {name}: database every time "
          + " ".join(f"{value:8.1f}" for value in uncached) + " µs/call (each run)")
    print(f"get_public x {calls} on {name}: in-memory cache     "
          + " ".join(f"{value:8.1f}" for value in cached) + " µs/call (each run)")
    print(f"the same select, plain driver on {name}:  "
          + " ".join(f"{value:8.1f}" for value in driver) + " µs/call (each run; the floor)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-postgresql", action="store_true")
    options = parser.parse_args()
    runs = []
    for _ in range(options.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(asyncio.run(measure(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", options.calls)))
    report("sqlite", "SQLite", options.calls, runs)
    if options.no_postgresql:
        return
    from tests.fixtures.postgres import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    try:
        runs = [asyncio.run(measure(cluster.create_database(), options.calls)) for _ in range(options.runs)]
    finally:
        cluster.stop()
    report("postgresql", "PostgreSQL", options.calls, runs)


if __name__ == "__main__":
    main()
