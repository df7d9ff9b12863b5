"""Storage on real databases: an SQLite file and a PostgreSQL server on loopback."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import pytest
from sqlalchemy import select, text

from sat_backend.core.exceptions import Conflict, Database, ProfileUnknown
from sat_backend.memory import migration
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import (
    History,
    Message,
    ParamIndividual,
    PrivateIndividual,
    PubsubItem,
    PubsubNode,
    Subject,
    SyncState,
)

T = TypeVar("T")


def run_with_storage(url: str, scenario: Callable[[Storage], Awaitable[T]]) -> T:
    """Open a Storage on ``url``, run ``scenario`` on it, close it."""

    async def main() -> T:
        storage = Storage(url)
        await storage.initialise()
        try:
            return await scenario(storage)
        finally:
            await storage.close()

    return asyncio.run(main())


def test_new_database_is_created_at_head_and_reopens(database_url: str) -> None:
    async def revision(storage: Storage) -> Any:
        assert storage.engine is not None
        async with storage.engine.connect() as connection:
            return await connection.run_sync(migration.current_revision)

    assert run_with_storage(database_url, revision) == migration.head_revision()
    # second start: nothing to create, nothing to migrate, data kept
    run_with_storage(database_url, lambda storage: storage.create_profile("alice"))
    assert run_with_storage(database_url, revision) == migration.head_revision()
    assert run_with_storage(database_url, lambda storage: storage.list_profiles()) == ["alice"]


def test_profiles(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        await storage.create_profile("bob")
        with pytest.raises(Conflict, match="alice"):
            await storage.create_profile("alice")
        assert await storage.list_profiles() == ["alice", "bob"]
        await storage.delete_profile("alice")
        with pytest.raises(ProfileUnknown):
            await storage.delete_profile("alice")
        assert await storage.list_profiles() == ["bob"]
        # storage hands out typed values, usable once the session is gone
        bob = await storage.get_profile("bob")
        assert bob is not None and bob.name == "bob" and bob.created > 0

    run_with_storage(database_url, scenario)


def test_params_and_private_data(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        await storage.set_param("General", "Language", "fr", None)
        await storage.set_param("General", "Language", "de", "alice")
        await storage.set_param("General", "Language", "it", "alice")  # overwrite, no conflict
        assert await storage.get_param("General", "Language", None) == "fr"
        assert await storage.get_param("General", "Language", "alice") == "it"
        assert await storage.get_param("General", "Other", "alice") is None
        assert await storage.get_profile_params("alice") == {("General", "Language"): "it"}
        with pytest.raises(ProfileUnknown):
            await storage.set_param("General", "Language", "x", "nobody")

        value = {"list": [1, 2.5, None], "text": "héllo ✓", "nested": {"ok": True}}
        await storage.set_private("plugin_x", "state", value, "alice")
        await storage.set_private("plugin_x", "state", ["general"])
        assert await storage.get_private("plugin_x", "state", "alice") == value
        assert await storage.get_private("plugin_x", "state") == ["general"]
        await storage.delete_private("plugin_x", "state", "alice")
        assert await storage.get_private("plugin_x", "state", "alice") is None
        assert await storage.get_private("plugin_x", "state") == ["general"]

    run_with_storage(database_url, scenario)


def test_deleting_a_profile_deletes_all_its_rows(database_url: str) -> None:
    async def scenario(storage: Storage) -> dict[str, int]:
        await storage.create_profile("alice")
        await storage.create_profile("bob")
        await storage.set_param("Connection", "Port", "5222", "alice")
        await storage.set_param("Connection", "Port", "5223", "bob")
        await storage.set_private("core", "k", 1, "alice")
        async with storage.session() as session:
            ids = {name: (await storage.get_profile(name)).id for name in ("alice", "bob")}  # type: ignore[union-attr]
            for name, profile_id in ids.items():
                history = History(
                    id=f"h-{name}", profile_id=profile_id, timestamp=1.0, source="a@b", dest="c@d",
                    type="chat",
                    messages=[Message(message="hi", language="en")],
                    subjects=[Subject(subject="s", language=None)],
                )
                node = PubsubNode(profile_id=profile_id, service="pubsub.b", name="n",
                                  sync_state=SyncState.COMPLETED)
                node.items.append(PubsubItem(name="i1", data="<entry/>", parsed={"k": 1}))
                session.add_all([history, node])
        await storage.delete_profile("alice")
        counts = {}
        async with storage.session() as session:
            for model in (ParamIndividual, PrivateIndividual, History, Message, Subject, PubsubNode,
                          PubsubItem):
                counts[model.__tablename__] = len((await session.scalars(select(model))).all())
        return counts

    counts = run_with_storage(database_url, scenario)
    # only bob's rows remain (alice's private row was her only one)
    assert counts == {
        "params_individual": 1, "private_individual": 0, "history": 1, "messages": 1,
        "subjects": 1, "pubsub_nodes": 1, "pubsub_items": 1,
    }


def test_parsed_item_data_is_queryable_key_by_key(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[list[str], list[str]]:
        profile = await storage.create_profile("alice")
        async with storage.session() as session:
            node = PubsubNode(profile_id=profile.id, service="pubsub.b", name="urn:xmpp:microblog:0")
            for index, author in enumerate(["louise", "pierre", "louise"]):
                node.items.append(
                    PubsubItem(name=f"item{index}", data=f"<entry>{index}</entry>",
                               parsed={"author": author, "votes": index * 10, "tags": ["a"]})
                )
            session.add(node)
        async with storage.session() as session:
            by_author = await session.scalars(
                select(PubsubItem.name).where(PubsubItem.parsed["author"].as_string() == "louise")
                .order_by(PubsubItem.name)
            )
            by_votes = await session.scalars(
                select(PubsubItem.name).where(PubsubItem.parsed["votes"].as_integer() >= 10)
                .order_by(PubsubItem.name)
            )
            return list(by_author), list(by_votes)

    assert run_with_storage(database_url, scenario) == (["item0", "item2"], ["item1", "item2"])


def test_sync_state_only_takes_known_values(database_url: str) -> None:
    """The enum is stored as text with a CHECK constraint: a stray value is refused by the DB."""

    async def scenario(storage: Storage) -> None:
        profile = await storage.create_profile("alice")
        with pytest.raises(Conflict):
            async with storage.session() as session:
                await session.execute(
                    text("INSERT INTO pubsub_nodes (profile_id, service, name, subscribed, "
                         "sync_state, sync_state_updated) VALUES (:p, 's', 'n', false, 'bogus', 0)"),
                    {"p": profile.id},
                )

    run_with_storage(database_url, scenario)


def test_database_of_another_application_is_left_untouched(database_url: str) -> None:
    async def make_foreign() -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
        await engine.dispose()

    asyncio.run(make_foreign())
    with pytest.raises(Database, match="not a SàT database.*invoices"):
        run_with_storage(database_url, lambda storage: storage.list_profiles())

    async def tables() -> list[str]:
        from sqlalchemy import inspect
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(database_url)
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        await engine.dispose()
        return names

    assert asyncio.run(tables()) == ["invoices"]


def test_database_from_a_newer_release_is_refused(database_url: str) -> None:
    async def stamp_future(storage: Storage) -> None:
        async with storage.session() as session:
            await session.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))

    run_with_storage(database_url, stamp_future)
    with pytest.raises(Database, match="newer SàT.*ffff_future"):
        run_with_storage(database_url, lambda storage: storage.list_profiles())


def test_storage_errors_do_not_leak_bound_values(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        with pytest.raises(Database) as caught:
            async with storage.session() as session:
                await session.execute(text("SELECT * FROM no_such_table WHERE x = :secret"),
                                      {"secret": "hunter2"})
        assert "hunter2" not in str(caught.value)

    run_with_storage(database_url, scenario)
