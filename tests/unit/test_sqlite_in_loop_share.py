"""Statements on the loop's thread give the loop a turn only within a run of them that
lasted :data:`LOOP_SHARE`, never the first one after the loop had a turn."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sat_backend.memory import sqlite_in_loop
from sat_backend.memory.sqlite_in_loop import InLoopDatabase


def test_only_a_long_run_of_statements_yields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(sqlite_in_loop.time, "monotonic", lambda: clock[0])

    async def scenario() -> list[bool]:
        database = InLoopDatabase(str(tmp_path / "x.db"), f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", lambda *_: None)
        yielded = []

        async def statement() -> None:
            """One statement's loop share: did another callback get to run meanwhile?"""
            ran: list[bool] = []
            asyncio.get_running_loop().call_soon(ran.append, True)
            await database._share_loop()
            yielded.append(bool(ran))

        try:
            clock[0] += 60  # idle for a minute: a new run, no turn given
            await statement()
            clock[0] += 0.004  # 4 ms into the run: still no turn
            await statement()
            clock[0] += 0.002  # 6 ms into the run: a turn
            await statement()
            await asyncio.sleep(0)  # the loop turns by itself: the next statement starts a run
            clock[0] += 0.010
            await statement()
        finally:
            await database.close()
        return yielded

    assert asyncio.run(scenario()) == [False, False, True, False]
