"""The term index of ranked one-word searches (``pubsub_item_terms``, issue 14) on real
databases: it follows every write exactly, the searches really read it, and their pages
equal a full ranking of every match even where it keeps only a few rows per group."""

from __future__ import annotations

import json
import random
from typing import Any

from sqlalchemy import text

from sat_backend.core.received_item import stored_item
from sat_backend.memory import migration, pubsub_fts_terms
from sat_backend.memory.pubsub_cache_storage import NodeChange, PubsubCacheStorage
from sat_backend.memory.pubsub_fts import TERMS_TABLE
from sat_backend.memory.pubsub_search import SearchQuery, search
from sat_backend.memory.sqla import Storage
from tests.integration.test_migrations import on_connection
from tests.integration.test_pubsub_search_ranking import full_ranking
from tests.integration.test_pubsub_search_storage import SERVICE, add_items, add_node, atom, ids
from tests.integration.test_storage import run_with_storage

Row = tuple[str, int, int, int, int]


async def stored_terms(storage: Storage) -> set[Row]:
    async with storage.session() as session:
        rows = await session.execute(text(f"SELECT term, occurrences, length, item_id, node_id FROM {TERMS_TABLE}"))
        return {tuple(row) for row in rows}  # type: ignore[misc]


async def expected_terms(storage: Storage) -> set[Row]:
    """What the index must hold: every word of every item, counted from its words on
    SQLite (what FTS5 reads), from its tsvector on PostgreSQL (what ts_rank reads)."""
    async with storage.session() as session:
        if storage.is_sqlite:
            items = (await session.execute(text("SELECT id, node_id, search_text FROM pubsub_items"))).all()
            expected: set[Row] = set()
            for item_id, node_id, words in items:
                split = words.split()
                expected |= {(word, split.count(word), len(split), item_id, node_id) for word in set(split)}
            return expected
        rows = await session.execute(text(
            "SELECT lexeme, array_length(positions, 1), "
            "(SELECT sum(array_length(p.positions, 1)) FROM unnest(i.search_vector) AS p)::integer, i.id, i.node_id "
            "FROM pubsub_items AS i, unnest(i.search_vector)"))
        return {tuple(row) for row in rows}  # type: ignore[misc]


async def assert_exact(storage: Storage) -> None:
    assert await stored_terms(storage) == await expected_terms(storage)


def test_the_term_index_follows_every_write(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        cache = PubsubCacheStorage(storage)
        node = await add_node(storage, "alice", "blog")
        await cache.replace_items(node, [stored_item(f"i{n}", atom(f"i{n}", "garden " * (n % 3 + 1), "words " * n))
                                         for n in range(12)])
        await assert_exact(storage)
        assert await ids(storage, fts="garden") == await full_ranking(storage)
        # an update that no longer has the word: gone from the results
        first = (await ids(storage, fts="garden"))[0]
        await cache.apply_changes([NodeChange(node, "items", items=(stored_item(first, atom(first, "weeds")),))])
        assert first not in await ids(storage, fts="garden") and await ids(storage, fts="weeds") == [first]
        # a new item with as many occurrences as the most and shorter (a longer one ranks
        # lower with ts_rank, whose length normalisation outweighs repetitions): first
        await cache.apply_changes([NodeChange(node, "items", items=(stored_item("new", atom("new", "garden " * 3)),))])
        found = await ids(storage, fts="garden")
        assert found[0] == "new" and found == await full_ranking(storage)
        await assert_exact(storage)
        await cache.apply_changes([NodeChange(node, "retract", names=("new",))])
        assert "new" not in await ids(storage, fts="garden")
        await assert_exact(storage)
        other = await add_node(storage, "bob", "notes")
        await cache.replace_items(other, [stored_item("b", atom("b", "garden path"))])
        await cache.replace_items(node, [stored_item("only", atom("only", "garden gate"))])  # a full sync
        assert await ids(storage, fts="garden") == ["b", "only"] == await full_ranking(storage)
        await assert_exact(storage)
        await cache.apply_changes([NodeChange(node, "purge")])
        await storage.delete_profile("bob")  # cascades to the node and its items
        assert await ids(storage, fts="garden") == [] and await stored_terms(storage) == set()

    run_with_storage(database_url, scenario)


def test_ranked_one_word_searches_read_the_term_index(database_url: str) -> None:
    """A row missing from the term index hides its item from a ranked one-word search,
    and from that search only: the searches that need the full ranking still find it."""

    async def scenario(storage: Storage) -> None:
        node = await add_node(storage, "alice", "blog")
        await add_items(storage, node, [("a", atom("a", "garden"), {"n": 1}), ("b", atom("b", "garden garden"), {"n": 2})])
        async with storage.session() as session:
            await session.execute(text(f"DELETE FROM {TERMS_TABLE} WHERE item_id = (SELECT id FROM pubsub_items "
                                       "WHERE name = 'b')"))
        assert await ids(storage, fts="garden") == ["a"]
        assert await ids(storage, fts="garden", nodes=["blog"], limit=5) == ["a"]
        assert await ids(storage, fts="garden", names=["a", "b"], parsed=[{"path": ["n"], "op": ">", "value": 0}]) == ["a"]
        assert "b" in await ids(storage, fts="garden", **{"order-by": [{"order": "rank", "direction": "asc"}]})
        # deeper than the index serves: b first, then a
        assert await ids(storage, fts="garden", index=1, limit=1000) == ["a"]
        for other_query in ("garden*", "garden OR nothing", "garden -nothing", "garden garden"):
            assert sorted(await ids(storage, fts=other_query)) == ["a", "b"], other_query

    run_with_storage(database_url, scenario)


def test_pages_equal_the_full_ranking_where_groups_are_cut(database_url: str) -> None:
    """Items of random lengths and numbers of occurrences, in two nodes: far more items
    in each group of equal occurrences than a page keeps, so the index really prunes."""

    async def scenario(storage: Storage) -> None:
        rng = random.Random(14)
        nodes = {name: await add_node(storage, "alice", name) for name in ("blog", "notes")}
        for name, node in nodes.items():
            await add_items(storage, node, [
                (f"{name}{n:03d}",
                 atom(f"{name}{n:03d}", " ".join(["garden"] * rng.choice((1, 1, 1, 2, 2, 3, 7))
                                                 + ["filler"] * rng.randrange(0, 40))), {"n": n})
                for n in range(150)])
        everything = await full_ranking(storage)
        in_notes = await full_ranking(storage, "name = :node", node="notes")
        thirds = [name for name in everything if int(name[-3:]) % 3 == 0]
        third_filter = {"parsed": [{"path": ["n"], "op": "in", "value": list(range(0, 150, 3))}]}
        named = [name for name in everything if name.endswith("7")]
        for limit in (1, 10, 37):
            for index in (0, 3, 10, 90, 260, 299, 300):
                query = {"fts": "garden", "index": index, "limit": limit}
                assert await ids(storage, **query) == everything[index:index + limit], query
                assert await ids(storage, nodes=["notes"], **query) == in_notes[index:index + limit], query
                assert await ids(storage, **third_filter, **query) == thirds[index:index + limit], query
                assert await ids(storage, names=named, **query) == named[index:index + limit], query
        assert await ids(storage, fts="GARDEN", limit=20) == everything[:20]  # the same word, case folded
        assert await ids(storage, fts="garden", limit=5, **{"order-by": [{"order": "rank"}]}) == everything[:5]

    run_with_storage(database_url, scenario)


def old_items(connection: Any) -> None:
    """Items written with the schema of an older revision, with SQL of the time."""
    connection.execute(text("INSERT INTO profiles (name, created) VALUES ('alice', 1.0)"))
    connection.execute(text(
        "INSERT INTO pubsub_nodes (profile_id, service, name, subscribed, sync_state_updated) "
        f"VALUES (1, '{SERVICE}', 'old', false, 1.0)"))
    for n in range(1, 5):
        words = " ".join(["ancient"] * n + ["words"])
        connection.execute(text(
            "INSERT INTO pubsub_items (node_id, name, data, search_text, created, updated) "
            f"VALUES (1, 'i{n}', '<item id=\"i{n}\"/>', '{words}', 1.0, 1.0)"))


def test_items_cached_before_the_term_index_are_in_it(database_url: str) -> None:
    on_connection(database_url, lambda connection: migration.upgrade(connection, "0007"))
    on_connection(database_url, old_items)

    async def scenario(storage: Storage) -> list[str]:  # the start migrates to head
        await assert_exact(storage)
        assert len(await stored_terms(storage)) == 8
        found = await ids(storage, fts="ancient")
        assert found == await full_ranking_of(storage, "ancient")
        return found

    assert sorted(run_with_storage(database_url, scenario)) == ["i1", "i2", "i3", "i4"]


def sqlite_triggers(connection: Any) -> set[str]:
    return set(connection.execute(text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'pubsub_item_terms_%'")).scalars())


def test_a_term_index_of_revision_0008_is_upgraded(database_url: str) -> None:
    """0010 replaces the SQLite triggers of 0008 (the item's length computed once): the
    rows already there stay, and every later write keeps the index exact."""

    def at_0008(connection: Any) -> None:
        migration.upgrade(connection, "0008")
        old_items(connection)
        if connection.dialect.name == "sqlite":
            assert sqlite_triggers(connection) == set(pubsub_fts_terms.SQLITE_TRIGGERS_0008)

    on_connection(database_url, at_0008)

    async def scenario(storage: Storage) -> None:  # the start migrates to head
        if storage.is_sqlite:
            async with storage.session() as session:
                triggers = await session.run_sync(lambda sync: sqlite_triggers(sync.connection()))
            assert triggers == set(pubsub_fts_terms.SQLITE_TRIGGERS) != set(pubsub_fts_terms.SQLITE_TRIGGERS_0008)
        await assert_exact(storage)
        cache = PubsubCacheStorage(storage)
        old = await add_node(storage, "alice", "new")
        await cache.replace_items(old, [stored_item(f"n{n}", atom(f"n{n}", "garden " * n, "new words"))
                                        for n in range(1, 4)])
        await cache.apply_changes([NodeChange(1, "items", items=(stored_item("i2", atom("i2", "changed garden words")),)),
                                   NodeChange(1, "retract", names=("i3",))])
        await assert_exact(storage)
        assert await ids(storage, fts="garden") == await full_ranking(storage)
        assert sorted(await ids(storage, fts="ancient")) == ["i1", "i4"]  # i2 changed, i3 retracted

    run_with_storage(database_url, scenario)


async def full_ranking_of(storage: Storage, word: str) -> list[str]:
    query = SearchQuery.from_json(json.dumps({"fts": word, "names": ["i1", "i2", "i3", "i4"]}))  # full ranking
    return [hit.item_id for hit in await search(storage, query)]
