"""Pages of a cached node read with its order held in memory (``pubsub_cache_order``),
on SQLite and PostgreSQL: at 150 items every RSM kind (after/before an id, index, count)
gives the page of the full sort, and stays right across every write the cache makes
(a sync, notified items and retracts, a lowered ``max_items``, a purge); a write that
bypassed the cache is noticed by the page that meets it. Pages encoded by the database
as JSON (``read_encoded_page``, what ``PsItemsGet`` sends on) hold the same items, text
that JSON must escape included."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete

from sat_backend.core.received_item import stored_item
from sat_backend.core.result_set import PageRequest, page_locally
from sat_backend.memory.pubsub_cache_storage import IN_LOOP_ROWS, NodeChange, PubsubCacheStorage, PurgeFilters
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import PubsubItem
from tests.integration.test_storage import run_with_storage

SERVICE = "pubsub.localhost"
SIZE = 150


def requests(names: list[str]) -> list[dict[str, Any]]:
    """RSM requests of every kind over ``names`` (oldest first)."""
    inside = names[1:-1:13]
    return [
        {"max": 20, "after": ""}, {"max": 20}, {"max": 20, "before": ""}, {}, {"max": 0},
        *({"max": 20, "after": name} for name in inside), *({"max": 20, "before": name} for name in inside),
        *({"max": 20, "index": index} for index in (0, 1, 75, len(names) - 1, len(names), len(names) + 9)),
        {"max": 20, "after": names[-1]}, {"max": 20, "before": names[0]}, {"max": 0, "after": names[40]},
        {"after": names[3], "before": names[100], "max": 30}, {"max": 500, "after": names[10]},
    ]


async def pages_agree(cache: PubsubCacheStorage, node: int) -> int:
    """Every request's page, with the order in memory, against the full sort; the node's count."""
    names = [item.name for item in await cache.get_items(node)]
    for rsm in requests(names):
        page = await cache.read_page(node, PageRequest.from_rsm(rsm, 10))
        expected = page_locally(names, rsm, 10, whole=True)
        assert (page.start, page.end, page.count, page.names) == (
            expected.start, expected.end, len(names), names[expected.start:expected.end]), rsm
        encoded = await cache.read_encoded_page(node, PageRequest.from_rsm(rsm, 10))
        assert encoded is not None, rsm
        assert (encoded.start, encoded.end, encoded.count, encoded.edges) == (
            page.start, page.end, page.count, page.edges), rsm
        assert json.loads(encoded.items_json) == [xml for _, xml, _ in page.rows], rsm
    assert node in cache.orders._orders  # read with the order, not the SQL counts
    return len(names)


def item(name: str) -> Any:
    # what JSON escapes or keeps as it is: quotes, backslash, line breaks, tab, non-ASCII, U+2028
    text = '"q" \\ \n\r\t é \u2028 \U0001f600 &lt;'
    return stored_item(name, f"<item id='{name}'><p xmlns='urn:example' title=\"{name}\">{name} {text}</p></item>")


async def read_node(storage: Storage) -> tuple[PubsubCacheStorage, int]:
    """A node of ``SIZE`` items synchronised, its pages read (its order in memory)."""
    await storage.create_profile("alice")
    cache = PubsubCacheStorage(storage)
    node = (await cache.ensure_node("alice", SERVICE, "big")).id
    await cache.replace_items(node, [item(f"s{n:03d}") for n in range(SIZE)])
    await pages_agree(cache, node)
    return cache, node


def test_pages_follow_every_write_of_the_cache(database_url: str) -> None:
    async def scenario(storage: Storage) -> list[int]:
        await storage.create_profile("alice")
        cache = PubsubCacheStorage(storage)
        node = (await cache.ensure_node("alice", SERVICE, "big")).id
        counts = []
        # a sync: every item with one ``created``, ties in row id order (not name order)
        await cache.replace_items(node, [item(f"s{n:03d}") for n in range(SIZE)][::-1])
        counts.append(await pages_agree(cache, node))
        order = cache.orders._orders[node]
        # notified: new items, one rewritten in place, retracts, one retracted then notified
        # again (a new row), in one batch: the order is updated with the keys, not reloaded
        await cache.apply_changes([NodeChange(node, "items", items=(item("new1"), item("new2"), item("s010"))),
                                   NodeChange(node, "retract", names=("s030",)),
                                   NodeChange(node, "items", items=(item("s030"),))])
        counts.append(await pages_agree(cache, node))
        await cache.apply_changes([NodeChange(node, "retract", names=("s020", "s149", "new1", "absent"))])
        counts.append(await pages_agree(cache, node))
        assert cache.orders._orders[node] is order
        await cache.apply_changes([NodeChange(node, "config", config={"pubsub#max_items": "120"})])
        counts.append(await pages_agree(cache, node))
        await cache.purge(PurgeFilters(nodes=("big",)))
        counts.append(len(await cache.get_items(node)))
        return counts

    assert run_with_storage(database_url, scenario) == [SIZE, SIZE + 2, SIZE - 1, 120, 0]


def test_a_stale_order_met_by_an_update_is_dropped(database_url: str) -> None:
    """A retract of a row the order does not hold (it was read before a write that
    bypassed the cache): the order is dropped, the next page reads it again."""

    async def scenario(storage: Storage) -> tuple[list[str], int]:
        cache, node = await read_node(storage)
        async with storage.session() as session:  # not through the cache
            session.add(PubsubItem(node_id=node, name="sneaked", data="<item id='sneaked'/>", created=0.0))
        await cache.apply_changes([NodeChange(node, "retract", names=("sneaked",))])
        assert node not in cache.orders._orders
        page = await cache.read_page(node, PageRequest(3))
        return page.names, page.count

    assert run_with_storage(database_url, scenario) == (["s147", "s148", "s149"], SIZE)


def test_a_write_that_bypassed_the_cache_is_noticed_by_the_page_that_meets_it(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[list[str], int]:
        cache, node = await read_node(storage)
        async with storage.session() as session:  # not through the cache
            await session.execute(delete(PubsubItem).where(PubsubItem.name.in_(["s005", "s006"])))
        assert await cache.read_encoded_page(node, PageRequest(5, after="s003")) is None
        assert node not in cache.orders._orders
        encoded = await cache.read_encoded_page(node, PageRequest(5, after="s003"))  # order read again
        assert encoded is not None and encoded.edges == ["s004", "s010"]
        assert [xml.split("'")[1] for xml in json.loads(encoded.items_json)] == [  # <item id='…'
            "s004", "s007", "s008", "s009", "s010"]
        page = await cache.read_page(node, PageRequest(5, after="s003"))
        return page.names, page.count

    assert run_with_storage(database_url, scenario) == (["s004", "s007", "s008", "s009", "s010"], SIZE - 2)


def test_a_page_larger_than_the_loop_reads_is_encoded_too(database_url: str) -> None:
    """A page of more than ``IN_LOOP_ROWS`` rows is read on the worker's engine (SQLite):
    encoded there, it holds the same items as the rows' page."""

    async def scenario(storage: Storage) -> tuple[int, list[str]]:
        await storage.create_profile("alice")
        cache = PubsubCacheStorage(storage)
        node = (await cache.ensure_node("alice", SERVICE, "huge")).id
        await cache.replace_items(node, [item(f"h{n:04d}") for n in range(IN_LOOP_ROWS + 5)])
        page = await cache.read_page(node, PageRequest(0))
        encoded = await cache.read_encoded_page(node, PageRequest(0))
        assert encoded is not None and json.loads(encoded.items_json) == [xml for _, xml, _ in page.rows]
        return encoded.count, encoded.edges

    assert run_with_storage(database_url, scenario) == (IN_LOOP_ROWS + 5, ["h0000", f"h{IN_LOOP_ROWS + 4:04d}"])
