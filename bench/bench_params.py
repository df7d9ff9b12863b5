"""Param read benchmark: ``ParamValues.get_public`` on a real SQLite file, with the
in-memory cache and without it (a cache that never keeps anything: one database read
per call, as before the cache), in µs per call, for the ``Pubsub/UseCache`` check the
pubsub cache makes on every read.

Run by hand (never in tests): ``.venv/bin/python bench/bench_params.py [--calls N]``.
"""

from __future__ import annotations

import argparse
import asyncio
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


async def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
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
        finally:
            await storage.close()
    record("param_read_uncached_ms", uncached / 1000, backend="sqlite")
    print(f"get_public x {calls} on SQLite: database every time {uncached:8.1f} µs/call")
    print(f"get_public x {calls} on SQLite: in-memory cache     {cached:8.1f} µs/call")
    print(f"ratio: {uncached / cached:.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    asyncio.run(main(parser.parse_args().calls))
