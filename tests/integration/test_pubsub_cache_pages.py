"""A page of a cached node read by keyset (:mod:`sat_backend.memory.pubsub_cache_pages`) on
real databases (an SQLite file, a PostgreSQL server): every kind of request gives what
sorting every item id of the node and cutting the list gives (the cache's answer before
the keyset query, :func:`~sat_backend.core.result_set.page_locally`), on a node whose
items share ``created`` values (ties broken by row id, which does not follow the item
ids); and on SQLite the page's statements read an index, never sort nor scan the node."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import event, text

from sat_backend.core.exceptions import NotFound
from sat_backend.core.result_set import PageRequest, page_locally
from sat_backend.memory.pubsub_cache_pages import NodePage, session_rows
from sat_backend.memory.pubsub_cache_storage import PubsubCacheStorage
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqlite_in_loop import InLoopDatabase
from sat_backend.memory.sqla_mapping import PubsubItem
from tests.integration.test_pubsub_search_storage import add_node
from tests.integration.test_storage import run_with_storage

SIZE = 40
NAMES = [f"i{n:02d}" for n in range(SIZE)]
#: RSM requests of every kind: first, middle (after/before an id, by index), last pages,
#: no limit, count only, beyond the end, anchors at both ends and inside a group of ties
REQUESTS: list[dict[str, Any]] = [
    {"max": 7, "after": ""}, {"max": 7}, {"max": 7, "before": ""}, {"after": ""}, {},
    *({"max": 7, "after": name} for name in NAMES[::3]),
    *({"max": 7, "before": name} for name in NAMES[::3]),
    {"max": 7, "after": NAMES[-1]}, {"max": 7, "before": NAMES[0]}, {"max": 0, "after": NAMES[5]},
    {"max": 0, "before": NAMES[9]}, {"max": 0}, {"max": 0, "index": 4}, {"max": 100, "after": NAMES[2]},
    {"max": 100, "before": NAMES[30]}, {"after": NAMES[3], "before": NAMES[30], "max": 5},
    *({"max": 6, "index": index} for index in (0, 1, 17, 34, 39, 40, 55)), {"index": 12},
]


async def tied_node(storage: Storage) -> tuple[PubsubCacheStorage, int]:
    """A node of ``SIZE`` items stored in shuffled order (row ids do not follow the item
    ids), ``created`` in groups of up to 9 equal values, ``updated`` in groups of 4."""
    node = await add_node(storage, "alice", "tied")
    order = list(range(SIZE))
    random.Random(14).shuffle(order)
    async with storage.session() as session:
        for n in order:
            session.add(PubsubItem(node_id=node, name=NAMES[n], data=f"<item id='{NAMES[n]}'/>",
                                   parsed={"n": n}, created=1000.0 + n // 9, updated=2000.0 - n // 4))
    return PubsubCacheStorage(storage), node


async def full_sort_answer(cache: PubsubCacheStorage, node: int, rsm: dict[str, Any], **keys: Any) -> Any:
    """The page as the cache cut it before: every item of the node in order, then the list cut."""
    rows = await cache.get_items(node, **keys)
    page = page_locally([row.name for row in rows], rsm, 10, whole=True)
    return page.start, page.end, [(row.name, row.data) for row in rows[page.start:page.end]], page.rsm


async def keyset_answer(cache: PubsubCacheStorage, node: int, rsm: dict[str, Any], **keys: Any) -> Any:
    page = await cache.read_page(node, PageRequest.from_rsm(rsm, 10), **keys)
    return page.start, page.end, [(name, data) for name, data, _ in page.rows], {
        **({"first": page.names[0], "last": page.names[-1]} if page.rows else {}),
        "index": page.start, "count": page.count}


@pytest.mark.parametrize("keys", [{}, {"order_by": "modification"}, {"item_ids": NAMES[5:30:2] + ["absent"]}],
                         ids=["by creation", "by modification", "some item ids"])
def test_every_page_is_the_page_of_the_full_sort(database_url: str, keys: dict[str, Any]) -> None:
    async def scenario(storage: Storage) -> None:
        cache, node = await tied_node(storage)
        names = [row.name for row in await cache.get_items(node, **keys)]
        for rsm in REQUESTS:
            if any(rsm.get(anchor) and rsm[anchor] not in names for anchor in ("after", "before")):
                continue  # an anchor outside ``item_ids``: the next test
            assert await keyset_answer(cache, node, rsm, **keys) == await full_sort_answer(cache, node, rsm, **keys), rsm

    run_with_storage(database_url, scenario)


def test_unknown_anchor_is_item_not_found_and_parsed_data_is_read_on_demand(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        cache, node = await tied_node(storage)
        for request in (PageRequest(5, after="nope"), PageRequest(5, before="nope"),
                        PageRequest(5, after=NAMES[3], before="nope")):
            with pytest.raises(NotFound, match="item-not-found"):
                await cache.read_page(node, request)
        with pytest.raises(NotFound, match="item-not-found"):  # an item of the node, not of the ids asked
            await cache.read_page(node, PageRequest(5, after=NAMES[1]), item_ids=NAMES[5:9])
        names = [row.name for row in await cache.get_items(node)]
        page = await cache.read_page(node, PageRequest(3, after=NAMES[8]), parsed=True)
        following = names[names.index(NAMES[8]) + 1:][:3]
        assert [(name, parsed) for name, _, parsed in page.rows] == [(name, {"n": int(name[1:])}) for name in following]
        assert {parsed for _, _, parsed in (await cache.read_page(node, PageRequest(3))).rows} == {None}

    run_with_storage(database_url, scenario)


REQUESTS_READ = (PageRequest(7), PageRequest(7, after=""), PageRequest(7, after=NAMES[20]),
                 PageRequest(7, before=NAMES[20]), PageRequest(7, index=20))


def test_the_page_statements_read_the_index_never_sort_nor_scan_the_node(tmp_path: Any) -> None:
    """SQLite's plan of every statement of a page read: what made a page grow with the
    node (a sort of all its rows, a scan) is absent; fails without migration 0005 (the
    index: the reads then sort the node's rows found by its (node_id, name) index)."""

    async def scenario(storage: Storage) -> list[str]:
        cache, node = await tied_node(storage)
        assert storage.engine is not None and isinstance(storage.short_calls, InLoopDatabase)
        # the worker's engine, and the loop's reads' (pages read with the node's order in memory)
        engines = [storage.engine.sync_engine, storage.short_calls.core_engine]
        statements: list[tuple[str, Any]] = []
        listener = lambda *args: statements.append((args[2], args[3]))  # noqa: E731 - (conn, cursor, SQL, params, …)
        for engine in engines:
            event.listen(engine, "before_cursor_execute", listener)
        try:
            for request in REQUESTS_READ:
                await cache.read_page(node, request)
            async with storage.session() as session:  # the same requests without the order: counts in SQL
                for request in REQUESTS_READ:
                    await NodePage(session_rows(session), node, None, None).read(request, parsed=False)
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", listener)
        plans = []
        async with storage.engine.connect() as connection:
            for sql, params in statements:
                if "pubsub_items" in sql:
                    rows = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)).all()
                    plans.append(" | ".join(str(row[-1]) for row in rows))
            await connection.execute(text("SELECT 1"))
        return plans

    plans = run_with_storage(f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}", scenario)
    assert len(plans) >= 10
    for plan in plans:
        assert "SCAN pubsub_items" not in plan, plan
        if plan == "SEARCH pubsub_items USING INDEX sqlite_autoindex_pubsub_items_1 (node_id=? AND name=?)":
            continue  # the look-up of an anchor's key, by its name (the unique (node_id, name) index)
        assert "ix_pubsub_items_node_id_created_id" in plan, plan
        # sorted, only a page's rows: two index ranges next to an anchor, or rows read by id
        paged = "SCAN beside" in plan or "INTEGER PRIMARY KEY (rowid=?)" in plan
        assert "TEMP B-TREE" not in plan or paged, plan
