"""Trigger manager: priorities, short-circuit with a value, skipping the rest."""

from __future__ import annotations

import asyncio

import pytest

from sat_backend.core.triggers import ShortCircuit, SkipOtherTriggers, TriggerManager


def test_triggers_run_by_priority_then_registration_order() -> None:
    manager = TriggerManager()
    calls: list[str] = []
    manager.add("point", lambda: calls.append("low"), priority=-5)
    manager.add("point", lambda: calls.append("first normal"))
    manager.add("point", lambda: calls.append("high"), priority=10)
    manager.add("point", lambda: calls.append("second normal"))
    assert asyncio.run(manager.run("point")) is None
    assert calls == ["high", "first normal", "second normal", "low"]


def test_short_circuit_returns_the_value_and_stops_later_triggers() -> None:
    manager = TriggerManager()
    calls: list[str] = []

    async def cache(node: str) -> ShortCircuit[list[str]] | None:
        calls.append("cache")
        return ShortCircuit([f"{node} item"]) if node == "cached" else None

    manager.add("items_get", cache, priority=100)
    manager.add("items_get", lambda node: calls.append("later"))
    result = asyncio.run(manager.run("items_get", "cached"))
    assert result == ShortCircuit(["cached item"])
    assert calls == ["cache"]
    assert asyncio.run(manager.run("items_get", "other")) is None
    assert calls == ["cache", "cache", "later"]


def test_skip_other_triggers_keeps_the_workflow() -> None:
    manager = TriggerManager()
    calls: list[str] = []

    def stop_here() -> None:
        calls.append("stop")
        raise SkipOtherTriggers

    manager.add("point", stop_here, priority=1)
    manager.add("point", lambda: calls.append("never"))
    assert asyncio.run(manager.run("point")) is None
    assert calls == ["stop"]


def test_exceptions_propagate_and_remove_works() -> None:
    manager = TriggerManager()

    def broken() -> None:
        raise RuntimeError("bug")

    manager.add("point", broken)
    with pytest.raises(RuntimeError):
        asyncio.run(manager.run("point"))
    with pytest.raises(ValueError):
        manager.add("point", broken)
    manager.remove("point", broken)
    assert manager.callbacks("point") == []
    with pytest.raises(KeyError):
        manager.remove("point", broken)
    assert asyncio.run(manager.run("unknown point")) is None
