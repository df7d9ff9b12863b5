"""The payload digest of cached items, on SQLite and PostgreSQL: a notification of an item
stored as it is compares digests only; a changed payload is written with its digest and
its words; rows stored without a digest (before revision 0006) get it when first
compared; revision 0006 goes down and up keeping the full-text index working."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from sat_backend.core.received_item import ReceivedItem, digest_of
from sat_backend.memory import migration
from sat_backend.memory.pubsub_cache_storage import NodeChange, PubsubCacheStorage
from sat_backend.memory.sqla import Storage
from tests.integration.test_migrations import on_connection
from tests.integration.test_pubsub_search_storage import ids
from tests.integration.test_storage import run_with_storage

SERVICE = "pubsub.localhost"
ATOM = "http://www.w3.org/2005/Atom"
PUBSUB = "http://jabber.org/protocol/pubsub"
EVENT = PUBSUB + "#event"


def item(name: str, words: str, namespace: str = PUBSUB) -> ReceivedItem:
    return ReceivedItem.from_xml(f"<item xmlns='{namespace}' id='{name}'><entry xmlns='{ATOM}'>"
                                 f"<title>{words}</title></entry></item>")


async def cached_node(storage: Storage, items: list[ReceivedItem]) -> tuple[PubsubCacheStorage, int]:
    await storage.create_profile("alice")
    cache = PubsubCacheStorage(storage)
    node = (await cache.ensure_node("alice", SERVICE, "blog")).id
    await cache.replace_items(node, items)
    return cache, node


async def stored(storage: Storage) -> dict[str, tuple[str, str | None, float]]:
    async with storage.session() as session:
        rows = await session.execute(text("SELECT name, data, digest, updated FROM pubsub_items"))
        return {name: (data, digest, updated) for name, data, digest, updated in rows}


def test_a_notified_item_with_the_stored_digest_is_a_no_op(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[Any, ...]:
        cache, node = await cached_node(storage, [item("a", "apple"), item("b", "banana")])
        before = await stored(storage)
        # the stored XML is made unreadable behind the cache's back: only the digest is compared
        async with storage.session() as session:
            await session.execute(text("UPDATE pubsub_items SET data = 'not xml' WHERE name = 'a'"))
        outcome = await cache.apply_changes([NodeChange(node, "items", items=(item("a", "apple", EVENT),))])
        return before, outcome[0].changed, await stored(storage)

    before, changed, after = run_with_storage(database_url, scenario)
    assert before["a"][1] == item("a", "apple", EVENT).digest == digest_of(before["a"][0])
    assert changed == [False]
    assert after["a"] == ("not xml", before["a"][1], before["a"][2])  # not written at all


def test_a_changed_payload_is_written_with_its_digest_and_words(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[Any, ...]:
        cache, node = await cached_node(storage, [item("a", "apple"), item("b", "banana")])
        before = await stored(storage)
        changed = await cache.apply_changes([NodeChange(node, "items", items=(
            item("a", "apricot", EVENT), item("b", "banana", EVENT), item("c", "cherry", EVENT)))])
        return (before, changed[0].changed, await stored(storage), await ids(storage, fts="apple"),
                await ids(storage, fts="apricot"), await ids(storage, fts="cherry"))

    before, changed, after, apple, apricot, cherry = run_with_storage(database_url, scenario)
    assert changed == [True, False, True]
    assert "apricot" in after["a"][0] and after["a"][1] == item("a", "apricot").digest != before["a"][1]
    assert after["a"][2] >= before["a"][2] and after["b"] == before["b"]
    assert after["c"][1] == item("c", "cherry").digest
    assert (apple, apricot, cherry) == ([], ["a"], ["c"])


def test_rows_stored_without_a_digest_get_it_when_first_compared(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[Any, ...]:
        cache, node = await cached_node(storage, [item("a", "apple"), item("b", "banana")])
        async with storage.session() as session:  # as rows cached before revision 0006 are
            await session.execute(text("UPDATE pubsub_items SET digest = NULL"))
        same = await cache.apply_changes([NodeChange(node, "items", items=(item("a", "apple", EVENT),))])
        filled = await stored(storage)
        other = await cache.apply_changes([NodeChange(node, "items", items=(item("b", "blueberry", EVENT),))])
        return same[0].changed, filled, other[0].changed, await stored(storage)

    same, filled, other, final = run_with_storage(database_url, scenario)
    assert same == [False] and filled["a"][1] == item("a", "apple").digest
    assert filled["b"][1] is None  # not named by any notification: left for later
    assert other == [True] and final["b"][1] == item("b", "blueberry").digest


def test_revision_0006_goes_down_and_up_keeping_the_search_index(database_url: str) -> None:
    on_connection(database_url, migration.upgrade_head)
    on_connection(database_url, lambda connection: [connection.execute(text(statement)) for statement in (
        "INSERT INTO profiles (name, created) VALUES ('alice', 1.0)",
        "INSERT INTO pubsub_nodes (profile_id, service, name, subscribed, sync_state_updated) "
        f"VALUES (1, '{SERVICE}', 'old', false, 1.0)",
        "INSERT INTO pubsub_items (node_id, name, data, search_text, digest, created, updated) "
        "VALUES (1, 'i1', '<item id=\"i1\"><x xmlns=\"urn:t\">ancient words</x></item>', 'ancient words', "
        "'d', 1.0, 1.0)",
    )])
    on_connection(database_url, lambda connection: migration.downgrade(connection, "0005"))
    on_connection(database_url, lambda connection: connection.execute(text(
        "INSERT INTO pubsub_items (node_id, name, data, search_text, created, updated) "
        "VALUES (1, 'i2', '<item id=\"i2\"/>', 'newer words', 2.0, 2.0)")))
    on_connection(database_url, lambda connection: migration.upgrade(connection, "0006"))
    digests = on_connection(database_url, lambda connection: dict(
        connection.execute(text("SELECT name, digest FROM pubsub_items")).all()))

    async def scenario(storage: Storage) -> tuple[list[str], list[str]]:
        return await ids(storage, fts="ancient"), await ids(storage, fts="newer")

    assert run_with_storage(database_url, scenario) == (["i1"], ["i2"])  # the index follows both writes
    assert digests == {"i1": None, "i2": None}  # dropped with the column; filled lazily again
