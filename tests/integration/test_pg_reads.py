"""Short reads on a real PostgreSQL server run by asyncpg itself (:mod:`sat_backend.memory.pg_reads`):
SQLAlchemy executes nothing for them, their rows are the ones SQLAlchemy gives (types,
names), an ``IN`` list and a literal of the statement are bound (as on SQLite, where
``Storage.read_rows`` runs them through SQLAlchemy), concurrent reads each get their
answer, and a reader whose server connection died is replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, select, text

from sat_backend.core.exceptions import Database
from sat_backend.memory import short_statements as sql
from sat_backend.memory.pubsub_cache_storage import NODE_BY_NAME, PubsubCacheStorage
from sat_backend.memory.pubsub_cache_values import CachedNode, SyncState
from sat_backend.memory.sqla import Storage
from tests.fixtures.postgres import PostgresCluster
from tests.integration.test_storage import run_with_storage

SERVICE = "pubsub.example.org"
#: built once, as every statement given to ``read_rows``: an expanding ``IN`` and a literal
NAMES_IN = select(sql.profiles.c.name, sql.profiles.c.id).where(
    sql.profiles.c.name.in_(bindparam("names", expanding=True)), sql.profiles.c.id > 0
).order_by(sql.profiles.c.name)

#: a read that lasts until it is cancelled
SLEEP = select(func.pg_sleep(bindparam("seconds")))


@pytest.fixture
def postgresql_url(postgres_cluster: PostgresCluster) -> str:
    return postgres_cluster.create_database()


async def analysed_node(storage: Storage) -> CachedNode:
    """A node with a value in every kind of column (enum, float, boolean, JSON)."""
    await storage.create_profile("alice")
    cache = PubsubCacheStorage(storage)
    node = await cache.ensure_node("alice", SERVICE, "blog")
    await cache.set_analysed(node.id, SyncState.COMPLETED, analyser="blog", type="blog", subtype=None)
    await cache.set_failed(node.id, "remote-server-timeout")  # state "error", JSON in ``extra``
    found = await cache.get_node("alice", SERVICE, "blog")
    assert found is not None
    return found


def test_short_reads_are_not_executed_by_sqlalchemy_and_read_what_it_reads(postgresql_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        node = await analysed_node(storage)
        await storage.set_param("Pubsub", "UseCache", "true", "alice")
        await storage.set_private("core", "state", {"list": [1, "two"], "flag": True}, "alice")
        await storage.set_private("core", "shared", 3.5)
        assert storage.engine is not None
        executed: list[str] = []
        event.listen(storage.engine.sync_engine, "before_cursor_execute",
                     lambda _c, _cursor, statement, *_: executed.append(statement))
        storage._profile_ids.clear()  # the profile's id is read too

        assert await storage.get_param("Pubsub", "UseCache", "alice") == "true"
        assert await storage.get_param("Pubsub", "Unset", "alice") is None
        assert await storage.get_private("core", "state", "alice") == {"list": [1, "two"], "flag": True}
        assert await storage.get_private("core", "shared") == 3.5
        assert await storage.get_profile_params("alice") == {("Pubsub", "UseCache"): "true"}
        read = await PubsubCacheStorage(storage).get_node("alice", SERVICE, "blog")
        assert executed == []

        async with storage.session() as session:  # the same row, executed by SQLAlchemy
            row = (await session.execute(NODE_BY_NAME, {"profile": "alice", "service": SERVICE, "name": "blog"})).one()
        assert read == CachedNode.from_columns(row) == node
        assert read is not None and read.sync_state is SyncState.ERROR and read.failures == 1

    run_with_storage(postgresql_url, scenario)


def test_an_in_list_and_a_literal_of_the_statement_are_bound(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        for name in ("alice", "bob", "carol"):
            await storage.create_profile(name)
        rows = await storage.read_rows(NAMES_IN, {"names": ["carol", "alice", "nobody"]})
        assert [row.name for row in rows] == ["alice", "carol"]
        assert [row.id for row in rows] == [await storage.profile_id(None, "alice"), await storage.profile_id(None, "carol")]
        assert [tuple(row) for row in await storage.read_rows(NAMES_IN, {"names": ["bob"]})] == [
            ("bob", await storage.profile_id(None, "bob"))]

    run_with_storage(database_url, scenario)


def test_concurrent_reads_each_get_their_own_answer(postgresql_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        for index in range(20):
            await storage.set_param("Test", f"p{index}", str(index), "alice")
        answers = await asyncio.gather(*(storage.get_param("Test", f"p{index}", "alice") for index in range(20)))
        assert answers == [str(index) for index in range(20)]

    run_with_storage(postgresql_url, scenario)


def test_a_reader_whose_server_connection_died_is_replaced(postgresql_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        await storage.set_param("Pubsub", "UseCache", "true", "alice")
        assert await storage.get_param("Pubsub", "UseCache", "alice") == "true"
        async with storage.session() as session:  # every other connection of the database, waited for
            await session.execute(text(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        with pytest.raises(Database, match="storage error"):
            await storage.get_param("Pubsub", "UseCache", "alice")
        assert await storage.get_param("Pubsub", "UseCache", "alice") == "true"

    run_with_storage(postgresql_url, scenario)


def test_a_cancelled_read_leaves_no_answer_behind_for_the_next_one(postgresql_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        await storage.set_param("Pubsub", "UseCache", "true", "alice")
        assert await storage.get_param("Pubsub", "UseCache", "alice") == "true"  # the reader is open
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(storage.read_rows(SLEEP, {"seconds": 60}), 0.2)
        assert await storage.get_param("Pubsub", "UseCache", "alice") == "true"
        assert await storage.get_profile_params("alice") == {("Pubsub", "UseCache"): "true"}

    run_with_storage(postgresql_url, scenario)


def test_only_the_statements_parameters_are_sent_and_a_missing_one_is_an_error(database_url: str) -> None:
    async def scenario(storage: Storage) -> Any:
        await storage.create_profile("alice")
        rows = await storage.read_rows(sql.PROFILE_ID, {"name": "alice", "unused": 1})
        assert [tuple(row) for row in rows] == [(await storage.profile_id(None, "alice"),)]
        with pytest.raises(Database, match="A value is required for bind parameter 'name'"):
            await storage.read_rows(sql.PROFILE_ID, {})

    run_with_storage(database_url, scenario)
