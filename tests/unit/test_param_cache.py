"""The in-memory cache of param values: served after the first read, dropped by every
write, deletion and creation rollback, never holding a secret, never refilled by a read
that raced a write (an in-memory stand-in for Storage: the logic under test is ours)."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest

from sat_backend.core.exceptions import Database, PermissionDenied
from sat_backend.core.param_values import ParamCache, ParamValues
from sat_backend.core.params import ParamDefinition, ParamsRegistry
from sat_backend.core.profiles import ProfileManager
from sat_backend.core.secrets import KEY_SIZE, SecretBox


class MemoryStorage:
    """The few Storage methods ParamValues and ProfileManager use, counting reads."""

    def __init__(self) -> None:
        self.params: dict[tuple[str, str, str | None], str] = {}
        self.profiles: set[str] = set()
        self.reads = 0
        self.fail_on: tuple[str, str] | None = None
        self.read_gate: asyncio.Event | None = None
        self.before_failing: Callable[[], Awaitable[object]] | None = None

    async def get_param(self, category: str, name: str, profile: str | None) -> str | None:
        self.reads += 1
        value = self.params.get((category, name, profile))
        if self.read_gate is not None:
            await self.read_gate.wait()  # the answer was read; the caller gets it later
        return value

    async def set_param(self, category: str, name: str, value: str, profile: str | None) -> None:
        if (category, name) == self.fail_on:
            if self.before_failing is not None:
                await self.before_failing()
            raise Database("storage error: disk full")
        self.params[(category, name, profile)] = value

    async def get_profile_params(self, profile: str) -> dict[tuple[str, str], str]:
        return {(key[0], key[1]): value for key, value in self.params.items() if key[2] == profile}

    async def get_profile(self, name: str) -> Any:
        return name if name in self.profiles else None

    async def create_profile(self, name: str) -> None:
        self.profiles.add(name)

    async def delete_profile(self, name: str) -> None:
        self.profiles.discard(name)
        for key in [key for key in self.params if key[2] == name]:
            del self.params[key]

    async def get_private(self, namespace: str, key: str, profile: str | None = None) -> Any:
        return "someone"

    async def delete_private(self, namespace: str, key: str, profile: str | None = None) -> None:
        return None


def make_values() -> tuple[ParamValues, MemoryStorage]:
    registry = ParamsRegistry.with_core_params()
    registry.declare(ParamDefinition("Test", "Shared", "string", "shared default", "a general param",
                                     scope="general"))
    storage = MemoryStorage()
    values = ParamValues(registry, storage, SecretBox(bytes(range(KEY_SIZE))))  # type: ignore[arg-type]
    return values, storage


def test_put_is_ignored_when_something_was_invalidated_since_the_read_began() -> None:
    cache = ParamCache()
    key = ("Connection", "Host", "alice")
    generation = cache.generation
    cache.invalidate(("General", "Language", "bob"))
    cache.put(key, "old", generation)
    assert cache.lookup(key) == (False, None)
    cache.put(key, "new", cache.generation)
    assert cache.lookup(key) == (True, "new")
    cache.put(("Connection", "Port", "alice"), None, cache.generation)  # never set: cached too
    assert cache.lookup(("Connection", "Port", "alice")) == (True, None)


def test_forget_profile_drops_only_that_profile() -> None:
    cache = ParamCache()
    for key in [("C", "a", "alice"), ("C", "b", "alice"), ("C", "a", "bob"), ("C", "g", None)]:
        cache.put(key, "x", cache.generation)
    cache.forget_profile("alice")
    assert [cache.lookup(key)[0] for key in
            [("C", "a", "alice"), ("C", "b", "alice"), ("C", "a", "bob"), ("C", "g", None)]] == [
        False, False, True, True]


def test_second_read_is_served_from_memory_and_a_set_is_seen_at_once() -> None:
    async def scenario() -> None:
        values, storage = make_values()
        assert await values.get_public("Connection", "Host", "alice") == ""
        assert await values.get_public("Connection", "Host", "alice") == ""
        assert storage.reads == 1
        await values.set("Connection", "Host", "example.org", "alice")
        assert await values.get_public("Connection", "Host", "alice") == "example.org"
        assert await values.get_public("Connection", "Host", "alice") == "example.org"
        assert storage.reads == 2
        assert await values.get_public("Connection", "Host", "bob") == ""  # per profile

    asyncio.run(scenario())


def test_general_params_are_shared_by_profiles_and_invalidated_for_all() -> None:
    async def scenario() -> None:
        values, storage = make_values()
        assert await values.get_public("Test", "Shared", "alice") == "shared default"
        assert await values.get_public("Test", "Shared", "bob") == "shared default"
        assert storage.reads == 1
        await values.set("Test", "Shared", "changed", "bob")
        assert await values.get_public("Test", "Shared", "alice") == "changed"

    asyncio.run(scenario())


def test_a_failed_write_leaves_no_stale_value() -> None:
    async def scenario() -> None:
        values, storage = make_values()
        assert await values.get_public("Connection", "Host", "alice") == ""
        storage.params[("Connection", "Host", "alice")] = "half-written"
        storage.fail_on = ("Connection", "Host")
        with pytest.raises(Database):
            await values.set("Connection", "Host", "example.org", "alice")
        assert await values.get_public("Connection", "Host", "alice") == "half-written"

    asyncio.run(scenario())


def test_a_read_racing_a_write_does_not_put_the_old_value_back() -> None:
    async def scenario() -> None:
        values, storage = make_values()
        storage.read_gate = asyncio.Event()
        slow_read = asyncio.ensure_future(values.get_public("Connection", "Host", "alice"))
        await asyncio.sleep(0)  # the read has its (old) answer and waits
        assert storage.reads == 1
        await values.set("Connection", "Host", "example.org", "alice")
        storage.read_gate.set()
        assert await slow_read == ""  # concurrent with the write: either answer is fair
        assert await values.get_public("Connection", "Host", "alice") == "example.org"

    asyncio.run(scenario())


def test_secrets_are_never_cached() -> None:
    async def scenario() -> None:
        values, storage = make_values()
        await values.set("Connection", "Password", "hunter2", "alice")
        assert await values.get_secret("Connection", "Password", "alice") == "hunter2"
        assert await values.get_secret("Connection", "Password", "alice") == "hunter2"
        with pytest.raises(PermissionDenied):
            await values.get_public("Connection", "Password", "alice")
        assert [entry["value"] for entry in await values.describe_all("alice")
                if entry["name"] == "Password"] == [None]
        assert not any(key[1] == "Password" for key in values.cache._values)
        assert "hunter2" not in repr(values.cache._values)

    asyncio.run(scenario())


def test_profile_delete_and_failed_creation_forget_cached_values() -> None:
    async def scenario() -> None:
        values, storage = make_values()
        profiles = ProfileManager(storage, values)  # type: ignore[arg-type]
        await profiles.create("alice", "alice@example.org", "pw", '{"host": "old.example.org"}')
        assert await values.get_public("Connection", "Host", "alice") == "old.example.org"
        await profiles.delete("alice")
        await profiles.create("alice", "alice@example.org", "pw", "{}")
        assert await values.get_public("Connection", "Host", "alice") == ""

        await profiles.delete("alice")
        storage.fail_on = ("Connection", "Password")
        # someone reads the port the half-created profile has, just before the failure
        storage.before_failing = lambda: values.get_public("Connection", "Port", "alice")
        with pytest.raises(Database):
            await profiles.create("alice", "alice@example.org", "pw", '{"port": 5299}')
        assert "alice" not in storage.profiles
        storage.fail_on = None
        await profiles.create("alice", "alice@example.org", "pw", "{}")
        assert await values.get_public("Connection", "Port", "alice") == "5222"

    asyncio.run(scenario())
