"""Migration 0004 and the storage of message changes, on SQLite and a real PostgreSQL: a
history made before 0004 gets reactions, corrections and retractions after the upgrade,
and a downgrade keeps the messages while dropping what 0004 added."""

from __future__ import annotations

import asyncio

from sqlalchemy import Connection, inspect, text

from sat_backend.memory import migration
from sat_backend.memory.message_changes_storage import Conversation, MessageChangesStorage, ReceivedChange
from sat_backend.memory.sqla import Storage
from tests.integration.test_migrations import on_connection

NEW_TABLES = {"message_reactions", "message_versions", "pending_references"}


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def history_columns(connection: Connection) -> set[str]:
    return {column["name"] for column in inspect(connection).get_columns("history")}


def old_history(connection: Connection) -> None:
    """A profile and one message from bob, as a database at 0003 holds them."""
    connection.execute(text("INSERT INTO profiles (id, name, created) VALUES (1, 'alice', 1.0)"))
    connection.execute(text(
        "INSERT INTO history (id, profile_id, origin_id, timestamp, source, dest, type) "
        "VALUES ('u1', 1, 'o1', 10.0, 'bob@localhost', 'alice@localhost', 'chat')"
    ))
    connection.execute(text("INSERT INTO messages (history_id, message, language) VALUES ('u1', 'helo', NULL)"))


def bodies(connection: Connection) -> list[str]:
    return [row[0] for row in connection.execute(text("SELECT message FROM messages ORDER BY id"))]


def test_an_old_history_gets_changes_after_0004_and_keeps_its_messages_on_downgrade(database_url: str) -> None:
    on_connection(database_url, lambda connection: migration.upgrade(connection, "0003"))
    on_connection(database_url, old_history)

    async def use() -> None:
        storage = Storage(database_url)
        await storage.initialise()                      # migrates to head, as at start
        changes = MessageChangesStorage(storage)
        try:
            conversation = Conversation("alice@localhost", "bob@localhost")
            found = await changes.find_referenced("alice", "o1", conversation)
            assert found is not None and found.id == "u1"
            assert await changes.find_referenced("alice", "o1", Conversation("alice@localhost", "eve@localhost")) is None
            assert await changes.set_reactions("u1", "bob@localhost", ["👍"], 20.0) == {"👍": ["bob@localhost"]}
            assert await changes.set_reactions("u1", "bob@localhost", ["🐢"], 15.0) is None   # older: ignored
            assert await changes.replace_bodies("u1", {"": "hello"}, 30.0) is True
            assert await changes.replace_bodies("u1", {"": "hello"}, 31.0) is False           # same text
            assert await changes.replace_bodies("u1", {"": "hullo"}, 25.0) is False           # older than 30
            pending = ReceivedChange("retract", "later", "bob@localhost", "alice@localhost", {}, 40.0)
            await changes.add_pending("alice", pending)
            assert await changes.take_pending("alice", {"later"}, Conversation("eve@localhost", "alice@localhost")) == []
            assert await changes.take_pending("alice", {"later"}, conversation) == [pending]
            assert await changes.take_pending("alice", {"later"}, conversation) == []
        finally:
            await storage.close()

    asyncio.run(use())
    assert on_connection(database_url, bodies) == ["hello"]
    assert NEW_TABLES <= on_connection(database_url, tables)

    on_connection(database_url, lambda connection: migration.downgrade(connection, "0003"))
    assert not NEW_TABLES & on_connection(database_url, tables)
    assert not {"message_id", "retracted"} & on_connection(database_url, history_columns)
    assert on_connection(database_url, bodies) == ["hello"]
    on_connection(database_url, migration.upgrade_head)


def test_retraction_leaves_a_tombstone_and_profile_deletion_takes_everything(database_url: str) -> None:
    on_connection(database_url, migration.upgrade_head)
    on_connection(database_url, old_history)

    async def use() -> None:
        storage = Storage(database_url)
        await storage.initialise()
        changes = MessageChangesStorage(storage)
        try:
            await changes.set_reactions("u1", "bob@localhost", ["👍"], 20.0)
            await changes.replace_bodies("u1", {"": "hello"}, 30.0)
            await changes.add_pending("alice", ReceivedChange("reactions", "x", "bob@localhost",
                                                              "alice@localhost", {"reactions": ["👍"]}, 1.0))
            assert await changes.retract("u1", 50.0) is True
            assert await changes.retract("u1", 60.0) is False
            entry = await changes.get_message("alice", "u1")
            assert entry is not None and entry.retracted == 50.0
            assert (entry.bodies, entry.versions, entry.reactions) == ({}, (), ())
            assert await changes.replace_bodies("u1", {"": "back"}, 70.0) is False
            # a reaction that reaches storage after the retraction (decided on an older
            # read of the message) leaves the tombstone without reactions
            assert await changes.set_reactions("u1", "bob@localhost", ["👍"], 80.0) is None
            entry = await changes.get_message("alice", "u1")
            assert entry is not None and entry.reactions == ()
            await storage.delete_profile("alice")
        finally:
            await storage.close()

    asyncio.run(use())

    def counts(connection: Connection) -> list[int]:
        return [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("history", *sorted(NEW_TABLES))]

    assert on_connection(database_url, counts) == [0, 0, 0, 0]


def test_a_profile_known_to_have_nothing_pending_still_gets_what_is_added_later(database_url: str) -> None:
    """Once a take finds nothing left, takes ask nothing of the database until a change
    is added: that change must still be found, and the next ones too."""

    async def use() -> None:
        storage = Storage(database_url)
        await storage.initialise()
        changes = MessageChangesStorage(storage)
        conversation = Conversation("alice@localhost", "bob@localhost")
        try:
            await storage.create_profile("alice")
            assert await changes.take_pending("alice", {"m1"}, conversation) == []   # none left: known
            first = ReceivedChange("reactions", "m2", "bob@localhost", "alice@localhost", {"r": ["👍"]}, 1.0)
            second = ReceivedChange("edit", "m3", "bob@localhost", "alice@localhost", {}, 2.0)
            await changes.add_pending("alice", first)
            await changes.add_pending("alice", second)
            assert await changes.take_pending("alice", {"m2"}, conversation) == [first]
            assert await changes.take_pending("alice", {"m3"}, conversation) == [second]
            assert await changes.take_pending("alice", {"m3"}, conversation) == []
        finally:
            await storage.close()

    asyncio.run(use())
