"""``PsCacheSearch`` storage on real databases (an SQLite file, a PostgreSQL server): the
full-text index follows every write, matches text and never markup, and each ``parsed``
operator is checked on items that sit on both sides of its boundary."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, text

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.received_item import stored_item
from sat_backend.memory import migration
from sat_backend.memory.pubsub_cache_storage import NodeChange, PubsubCacheStorage
from sat_backend.memory.pubsub_search import SearchQuery, search
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import PubsubItem, PubsubNode
from sat_backend.plugins.pubsub_cache.search import hit_json
from tests.integration.test_migrations import on_connection
from tests.integration.test_storage import run_with_storage

SERVICE = "pubsub.localhost"
BLOG = "urn:xmpp:microblog:0"


def atom(item_id: str, title: str, content: str = "") -> str:
    return (f"<item id='{item_id}'><entry xmlns='http://www.w3.org/2005/Atom'><title type='text'>{title}</title>"
            f"<content type='text'>{content}</content><id>tag:x,2026:{item_id}</id>"
            f"<category term='markup-only'/></entry></item>")


async def add_node(storage: Storage, profile: str, name: str, service: str = SERVICE, type_: str | None = "blog",
                   subtype: str | None = None) -> int:
    if not await storage.has_profile(profile):
        await storage.create_profile(profile)
    async with storage.session() as session:
        node = PubsubNode(profile_id=await storage.profile_id(session, profile), service=service, name=name,
                          type=type_, subtype=subtype)
        session.add(node)
    return node.id


async def add_items(storage: Storage, node_id: int, items: list[tuple[str, str, Any]], start: float = 1000.0) -> None:
    """Items through the ORM, as every writer of the cache does; created one second apart."""
    async with storage.session() as session:
        for offset, (name, data, parsed) in enumerate(items):
            session.add(PubsubItem(node_id=node_id, name=name, data=data, parsed=parsed,
                                   created=start + offset, updated=start + 100 - offset))


async def ids(storage: Storage, **keys: Any) -> list[str]:
    return [hit.item_id for hit in await search(storage, SearchQuery.from_json(json.dumps(keys)))]


# full text -----------------------------------------------------------------------------------------


def test_fts_matches_the_text_of_items_never_their_markup(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        node = await add_node(storage, "alice", BLOG)
        await add_items(storage, node, [
            ("a", atom("a", "Hello Café", "A first post about XMPP"), {"title": "Hello Café"}),
            ("b", atom("b", "Other news", "nothing to see"), {"title": "Other news"}),
            ("c", "<item id='c'><x xmlns='urn:t'>entry content title</x></item>", None),
        ])
        for markup in ("entry", "content", "title", "category", "markup", "type", "atom", "www", "item", "id"):
            assert await ids(storage, fts=markup) == (["c"] if markup in ("entry", "content", "title") else [])
        assert await ids(storage, fts="hello") == ["a"]
        assert await ids(storage, fts="CAFE xmpp") == ["a"]  # case and accents folded
        assert await ids(storage, fts="café") == ["a"]
        assert await ids(storage, fts="xmp*") == ["a"]
        assert await ids(storage, fts='"first post"') == ["a"]
        assert await ids(storage, fts='"post first"') == []
        assert await ids(storage, fts="hello OR nothing", **{"order-by": [{"order": "item_id"}]}) == ["a", "b"]
        assert await ids(storage, fts="post -xmpp") == []
        assert await ids(storage, fts="news -xmpp") == ["b"]

    run_with_storage(database_url, scenario)


ODD_QUERIES = ['"', "AND(", "*", "-", "NOT", "a OR", "OR", "NEAR(a b)", "x'y", "a:*", "!a", "a & b", "(", ")",
               "{a}", "^x", '"unclosed', "a\\b", "--a", "\x00", "title:hello", "' OR 1=1 --", "*hel", "AND OR NOT"]


def test_fts_queries_with_odd_syntax_give_results_or_invalid_argument(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        node = await add_node(storage, "alice", BLOG)
        await add_items(storage, node, [("a", atom("a", "a b and or not near title hello"), None)])
        for query in ODD_QUERIES:
            try:
                found = await ids(storage, fts=query)
            except InvalidArgument:
                continue
            assert found in ([], ["a"]), query

    run_with_storage(database_url, scenario)


def test_the_index_follows_every_write(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        cache = PubsubCacheStorage(storage)
        node = await add_node(storage, "alice", BLOG)
        await cache.replace_items(node, [stored_item("a", atom("a", "apple")), stored_item("b", atom("b", "banana"))])
        assert await ids(storage, fts="apple") == ["a"]
        await cache.apply_changes([NodeChange(node, "items", items=(stored_item("a", atom("a", "apricot")),))])
        assert await ids(storage, fts="apple") == [] and await ids(storage, fts="apricot") == ["a"]
        await cache.apply_changes([NodeChange(node, "retract", names=("a",))])
        assert await ids(storage, fts="apricot") == []
        # a Core (bulk) insert that leaves search_text out gets it from data (column default)
        async with storage.session() as session:
            await session.execute(insert(PubsubItem), [{"node_id": node, "name": "c", "data": atom("c", "cherry")}])
        assert await ids(storage, fts="cherry") == ["c"]
        # a malformed item is kept raw and simply has no text
        await cache.apply_changes([NodeChange(node, "items", items=(stored_item("d", "<item id='d'>unclosed"),))])
        assert await ids(storage, names=["d"]) == ["d"] and await ids(storage, fts="unclosed") == []
        await cache.replace_items(node, [stored_item("e", atom("e", "elderberry"))])
        assert await ids(storage, fts="banana OR cherry OR elderberry") == ["e"]
        other = await add_node(storage, "bob", BLOG)
        await cache.replace_items(other, [stored_item("f", atom("f", "fig"))])
        await cache.apply_changes([NodeChange(node, "delete")])
        await storage.delete_profile("bob")  # cascades
        assert await ids(storage, fts="elderberry OR fig") == []
        if storage.is_sqlite:  # the external-content index matches its table exactly
            assert storage.engine is not None
            async with storage.engine.begin() as connection:
                await connection.execute(text(
                    "INSERT INTO pubsub_items_fts(pubsub_items_fts, rank) VALUES ('integrity-check', 1)"))

    run_with_storage(database_url, scenario)


def test_items_cached_before_the_migration_are_indexed_by_it(database_url: str) -> None:
    on_connection(database_url, lambda connection: migration.upgrade(connection, "0002"))
    on_connection(database_url, lambda connection: [connection.execute(text(statement)) for statement in (
        "INSERT INTO profiles (name, created) VALUES ('alice', 1.0)",
        "INSERT INTO pubsub_nodes (profile_id, service, name, subscribed, sync_state_updated) "
        f"VALUES (1, '{SERVICE}', 'old', false, 1.0)",
        "INSERT INTO pubsub_items (node_id, name, data, created, updated) "
        "VALUES (1, 'i1', '<item id=\"i1\"><x xmlns=\"urn:t\">ancient words</x></item>', 1.0, 1.0)",
    )])

    async def scenario(storage: Storage) -> list[str]:
        return await ids(storage, fts="ancient")

    assert run_with_storage(database_url, scenario) == ["i1"]  # the start migrates to head


# parsed data ---------------------------------------------------------------------------------------

PARSED_ITEMS: list[tuple[str, Any]] = [
    ("n9", {"n": 9, "title": "apple pie", "tags": ["red", "fruit"], "flag": True, "day": "2026-01-09",
            "nested": {"k": ["deep"]}}),
    ("n10", {"n": 10, "title": "Banana", "tags": ["yellow", "fruit"], "flag": False, "day": "2026-01-10"}),
    ("n11", {"n": 11.5, "title": "cherry", "tags": ["red", 3], "day": "2026-01-11"}),
    ("s10", {"n": "10", "title": "100% juice_box", "tags": "red"}),  # n a string, tags not an array
    ("null", {"n": None}),
    ("bare", None),  # no parser
]
ALL = {name for name, _ in PARSED_ITEMS}

OPERATOR_CASES: list[tuple[list[Any], str, Any, set[str]]] = [
    (["n"], "==", 10, {"n10"}),
    (["n"], "==", "10", {"s10"}),
    (["n"], "==", None, {"null", "bare"}),
    (["flag"], "==", True, {"n9"}),
    (["flag"], "==", False, {"n10"}),
    (["nested", "k", 0], "==", "deep", {"n9"}),
    (["n"], "!=", 10, ALL - {"n10"}),
    (["n"], "!=", None, {"n9", "n10", "n11", "s10"}),
    (["n"], ">", 10, {"n11"}),
    (["n"], ">=", 10, {"n10", "n11"}),
    (["n"], "<", 10, {"n9"}),
    (["n"], "<", 11.5, {"n9", "n10"}),
    (["n"], "<=", 10, {"n9", "n10"}),
    (["n"], "<", "2", {"s10"}),
    (["day"], ">", "2026-01-10", {"n11"}),
    (["day"], "<=", "2026-01-10", {"n9", "n10"}),
    (["n"], "between", [9.5, 11.5], {"n10", "n11"}),
    (["n"], "between", [10, 10], {"n10"}),
    (["day"], "between", ["2026-01-10", "2026-01-11"], {"n10", "n11"}),
    (["n"], "in", [9, "10"], {"n9", "s10"}),
    (["n"], "in", [], set()),
    (["n"], "not_in", [9, "10"], ALL - {"n9", "s10"}),
    (["title"], "like", "Banana", {"n10"}),
    (["title"], "like", "banana", set()),
    (["title"], "like", "%pie", {"n9"}),
    (["title"], "like", "_herry", {"n11"}),
    (["title"], "like", "100\\%%", {"s10"}),
    (["title"], "like", "%\\_box", {"s10"}),
    (["title"], "like", "%i_", {"n9"}),
    (["title"], "ilike", "BANANA", {"n10"}),
    (["title"], "ilike", "%E%", {"n9", "n11", "s10"}),
    (["tags"], "overlap", ["red"], {"n9", "n11"}),
    (["tags"], "overlap", [3], {"n11"}),
    (["tags"], "overlap", ["3", "blue"], set()),
    (["tags"], "overlap", ["yellow", 3], {"n10", "n11"}),
    (["tags"], "overlap", [], set()),
    (["tags"], "disjoint", ["red"], ALL - {"n9", "n11"}),
    (["tags"], "disjoint", ["fruit", 3], {"s10", "null", "bare"}),
]


def test_each_parsed_operator_on_both_sides_of_its_boundary(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        node = await add_node(storage, "alice", "things", type_=None)
        await add_items(storage, node, [(name, f"<item id='{name}'/>", parsed) for name, parsed in PARSED_ITEMS])
        failures = []
        for path, op, value, expected in OPERATOR_CASES:
            found = set(await ids(storage, parsed=[{"path": path, "op": op, "value": value}]))
            if found != expected:
                failures.append((path, op, value, sorted(found), sorted(expected)))
        assert failures == []
        two = [{"path": ["tags"], "op": "overlap", "value": ["fruit"]}, {"path": ["n"], "op": ">", "value": 9}]
        assert await ids(storage, parsed=two) == ["n10"]  # every filter must match

    run_with_storage(database_url, scenario)


# ordering, paging, filters ------------------------------------------------------------------------


def test_ordering(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        node = await add_node(storage, "alice", "things", type_=None)
        await add_items(storage, node, [
            (name, atom(name, title), parsed) for name, title, parsed in (
                ("b", "rare word", {"n": 2}), ("a", "word word word", {"n": 10}),
                ("d", "word and many other longer words around it", {"n": "x"}), ("c", "none here", {}),
            )
        ])
        assert await ids(storage) == ["c", "d", "a", "b"]  # default: newest first
        assert await ids(storage, **{"order-by": [{"order": "creation"}]}) == ["b", "a", "d", "c"]
        assert await ids(storage, **{"order-by": [{"order": "modification"}]}) == ["c", "d", "a", "b"]
        assert await ids(storage, **{"order-by": [{"order": "item_id", "direction": "desc"}]}) == ["d", "c", "b", "a"]
        # numbers as numbers (2 < 10), then strings, items without the value last
        assert await ids(storage, **{"order-by": [{"path": ["n"]}]}) == ["b", "a", "d", "c"]
        assert await ids(storage, **{"order-by": [{"path": ["n"], "direction": "desc"}]}) == ["a", "b", "d", "c"]
        by_rank = await ids(storage, fts="word")
        assert by_rank[0] == "a" and set(by_rank) == {"a", "b", "d"}
        assert await ids(storage, fts="word", **{"order-by": [{"order": "rank", "direction": "asc"}]}) == by_rank[::-1]

    run_with_storage(database_url, scenario)


def test_paging_and_payload(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        node = await add_node(storage, "alice", "many", type_=None)
        await add_items(storage, node, [(f"i{n:02d}", f"<item id='i{n:02d}'/>", {"n": n}) for n in range(25)])
        order = {"order-by": [{"order": "creation"}]}
        pages = [await ids(storage, index=index, limit=10, **order) for index in (0, 10, 20, 30)]
        assert [len(page) for page in pages] == [10, 10, 5, 0]
        assert sum(pages, []) == [f"i{n:02d}" for n in range(25)]
        assert len(await ids(storage)) == 25  # the default limit (100) is above
        (hit,) = await search(storage, SearchQuery.from_json(json.dumps({"names": ["i03"], "with_payload": True})))
        assert hit_json(hit, True) == {"n": 3, "pubsub_service": SERVICE, "pubsub_node": "many",
                                       "pubsub_item_id": "i03", "node_profile": "alice",
                                       "item_payload": "<item id='i03'/>"}
        (plain,) = await search(storage, SearchQuery.from_json('{"names": ["i03"]}'))
        assert plain.payload is None and "item_payload" not in hit_json(plain, False)

    run_with_storage(database_url, scenario)


def test_filters_by_profile_service_node_type_and_name(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        for profile, service, node_name, type_, subtype, item in (
            ("alice", SERVICE, BLOG, "blog", None, "a1"), ("alice", "other.localhost", BLOG, "blog", None, "a2"),
            ("alice", SERVICE, "events", "event", "party", "a3"), ("bob", SERVICE, BLOG, "blog", None, "b1"),
        ):
            node = await add_node(storage, profile, node_name, service, type_, subtype)
            await add_items(storage, node, [(item, atom(item, "common"), None)])
        order = {"order-by": [{"order": "item_id"}]}
        assert await ids(storage, profiles=["alice"], **order) == ["a1", "a2", "a3"]
        assert await ids(storage, services=["other.localhost"]) == ["a2"]
        assert await ids(storage, nodes=["events"]) == ["a3"]
        assert await ids(storage, types=["blog"], profiles=["bob"]) == ["b1"]
        assert await ids(storage, subtypes=["party"]) == ["a3"]
        assert await ids(storage, names=["a1", "b1"], fts="common", **order) == ["a1", "b1"]
        assert await ids(storage, profiles=["nobody"]) == []
        results = await search(storage, SearchQuery.from_json('{"names": ["b1"]}'))
        assert [(hit.profile, hit.node, hit.service) for hit in results] == [
            ("bob", BLOG, SERVICE)]

    run_with_storage(database_url, scenario)


@pytest.mark.parametrize("fts", ODD_QUERIES[:6])
def test_odd_fts_through_a_fresh_storage_never_becomes_a_database_error(database_url: str, fts: str) -> None:
    """The same odd queries on an empty database (no row to short-circuit the MATCH)."""

    async def scenario(storage: Storage) -> None:
        try:
            assert await ids(storage, fts=fts) == []
        except InvalidArgument:
            pass

    run_with_storage(database_url, scenario)

