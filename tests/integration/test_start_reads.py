"""The start's reads run as plain SQL (:mod:`sat_backend.memory.plain_reads`) return
what SQLAlchemy returns for their Core statements, on a real SQLite file: same rows,
same column names, same converted values (an enum, a boolean, JSON); and a start on a
database at head runs none of its SQL through SQLAlchemy before it is ready."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

from sat_backend.memory import start_sql
from sat_backend.memory.pubsub_cache_values import SyncState
from sat_backend.memory.sqla import Storage
from sat_backend.memory.plain_reads import PlainRead
from sat_backend.memory.start_statements import READS
from sat_backend.memory.tables import params_general, params_individual, private_general, private_individual, pubsub_nodes

#: bound values of the start reads (each takes the names it binds); ``name`` is the
#: profile's, or the param's in :data:`PARAM_NAME`'s reads
VALUES = {"name": "alice", "category": "Connection", "namespace": "ns", "key": "k"}
PARAM_NAME = {"PARAM_GENERAL": {"name": "name"}, "PARAM_INDIVIDUAL": {"name": "name"}}


async def filled(path: Path) -> int:
    """A new database at head with a profile, params, private values and two pubsub
    nodes (one left mid-sync); the profile's id."""
    storage = Storage(f"sqlite+aiosqlite:///{path}")
    await storage.initialise()
    try:
        profile = await storage.create_profile("alice")
        await storage.create_profile("bob")
    finally:
        await storage.close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(insert(params_general), [{"category": "Connection", "name": "name", "value": "general"}])
        connection.execute(insert(params_individual), [
            {"profile_id": profile.id, "category": "Connection", "name": "name", "value": "alice@example.org"},
            {"profile_id": profile.id, "category": "Connection", "name": "unset", "value": None},
        ])
        connection.execute(insert(private_general), [{"namespace": "ns", "key": "k", "value": 2.5}])
        connection.execute(insert(private_individual), [{"profile_id": profile.id, "namespace": "ns", "key": "k", "value": ["x"]}])
        connection.execute(insert(pubsub_nodes), [
            {"profile_id": profile.id, "service": "pubsub.example.org", "name": "mid", "subscribed": True,
             "sync_state": SyncState.IN_PROGRESS, "extra": {"config": {"max": [10, 2.5]}}},
            {"profile_id": profile.id, "service": "pubsub.example.org", "name": "done", "subscribed": False,
             "sync_state": SyncState.COMPLETED, "extra": None},
        ])
    engine.dispose()
    return profile.id


def test_each_start_read_returns_what_its_core_statement_returns(tmp_path: Path) -> None:
    path = tmp_path / "sat.db"
    values = {**VALUES, "profile_id": asyncio.run(filled(path))}
    engine = create_engine(f"sqlite:///{path}")
    plain = sqlite3.connect(path)
    try:
        with engine.connect() as connection:
            for name, statement in READS.items():
                compiled = getattr(start_sql, name)
                assert isinstance(compiled, PlainRead), name
                bound = {**values, **PARAM_NAME.get(name, {})}
                core_rows = [row._asdict() for row in connection.execute(statement, bound)]
                plain_rows = [row._asdict() for row in compiled.rows(plain, bound)]
                assert plain_rows == core_rows, name
                assert core_rows, f"{name} read nothing: the comparison would prove nothing"
                assert [list(map(type, row.values())) for row in plain_rows] == [
                    list(map(type, row.values())) for row in core_rows], name
    finally:
        plain.close()
        engine.dispose()


NO_SQLALCHEMY_EXECUTION = """
import asyncio, json, sys
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sat_backend.memory.sqla import Storage

executed = []
event.listen(Engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: executed.append(statement))

async def start():
    storage = Storage(sys.argv[1])
    await storage.initialise()
    names = await storage.list_profiles()
    params = await storage.get_profile_params(names[0])
    answers = [names, await storage.get_param("Connection", "name", names[0]), sorted(map(list, params.items()))]
    await storage.close()
    return answers

answers = asyncio.run(start())
print(json.dumps({"answers": answers, "executed": executed}, default=str))
"""


def test_a_start_at_head_reads_without_sqlalchemy_executing_anything(tmp_path: Path) -> None:
    """The schema check, the profiles and their params of a start on a database at
    head: plain ``sqlite3``, not one statement through an engine."""
    path = tmp_path / "sat.db"
    asyncio.run(filled(path))
    result = subprocess.run(
        [sys.executable, "-c", NO_SQLALCHEMY_EXECUTION, f"sqlite+aiosqlite:///{path}"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    seen: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    assert seen["answers"] == [["alice", "bob"], "alice@example.org", [[["Connection", "name"], "alice@example.org"]]]
    assert seen["executed"] == []
