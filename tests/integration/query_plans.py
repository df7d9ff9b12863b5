"""How a statement reaches the ``history`` table on a real database: SQLite's query plan
(which index, bound on which columns) and the rows PostgreSQL's executed plan read. The
tests that keep a look-up bounded as history grows assert on these, not on time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from sat_backend.memory.sqla import Storage


async def executed(storage: Storage, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The statements (with their parameters) a call sends to the database."""
    assert storage.engine is not None
    statements: list[tuple[str, Any]] = []

    def seen(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(storage.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await call()
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", seen)
    return [(statement, parameters) for statement, parameters in statements if "history" in statement]


async def history_access_sqlite(connection: AsyncConnection, statement: str, parameters: Any) -> list[str]:
    """How SQLite's plan reaches ``history``: the index and its bounds, for each access."""
    plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
    details = [str(tuple(row)[-1]) for row in plan]   # (id, parent, unused, detail)
    return [detail.split(" INDEX ", 1)[1] if " INDEX " in detail else detail
            for detail in details if " history" in detail]


async def history_rows_read_postgresql(connection: AsyncConnection, statement: str, parameters: Any) -> int:
    """The ``history`` rows PostgreSQL's executed plan read: returned or filtered out by
    every scan of the table, over all its loops."""
    result = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
    plan = result.scalar_one()
    nodes = [(json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]]
    total = 0
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", ()))
        if node.get("Relation Name") == "history":
            total += round((node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"])
    return total
