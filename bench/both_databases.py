"""Running one storage measure on a throw-away SQLite file, then on a fresh database of
a private PostgreSQL cluster (``tests/fixtures/postgres.py``), for the benches that
compare the two."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Coroutine
from typing import Any
from pathlib import Path

#: a measure: (database URL, backend name) → its run
Measure = Callable[[str, str], Coroutine[Any, Any, None]]


def on_both_databases(measure: Measure, postgresql: bool = True) -> None:
    """``measure`` on SQLite, then (unless ``postgresql`` is false) on PostgreSQL."""
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(measure(f"sqlite+aiosqlite:///{Path(directory) / 'sat.db'}", "sqlite"))
    if not postgresql:
        return
    from tests.fixtures.postgres import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    try:
        asyncio.run(measure(cluster.create_database(), "postgresql"))
    finally:
        cluster.stop()
