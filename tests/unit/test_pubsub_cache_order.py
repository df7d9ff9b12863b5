"""The order of a cached node held in memory: positions by binary search among ties,
a bounded budget (least recently used dropped), and no load a write overtook kept."""

from __future__ import annotations

import asyncio

from sat_backend.memory.pubsub_cache_order import NodeOrder, NodeOrders

# created 1.0 for ids 3, 7, 9 (a sync's ties, in id order), then 2.0 for id 4
KEYS = [(1.0, 3), (1.0, 7), (1.0, 9), (2.0, 4)]


def test_positions_among_ties_and_keys_not_in_the_order() -> None:
    order = NodeOrder.of(KEYS)
    assert len(order) == 4
    assert [order.position(*key) for key in KEYS] == [0, 1, 2, 3]
    assert order.position(1.0, 4) is None and order.position(2.0, 9) is None and order.position(0.5, 3) is None
    assert order.key(2) == (1.0, 9)


def test_the_budget_drops_the_least_recently_used_and_never_keeps_a_larger_order() -> None:
    async def scenario() -> list[bool]:
        orders = NodeOrders(max_keys=8)

        async def load() -> NodeOrder:
            return NodeOrder.of(KEYS)

        for node in (1, 2):
            await orders.get(node, load)
        await orders.get(1, load)  # 1 used last: 2 goes first
        await orders.get(3, load)

        async def large() -> NodeOrder:
            return NodeOrder.of([(1.0, n) for n in range(9)])

        assert len(await orders.get(4, large)) == 9  # read and used, but over the budget
        return [node in orders._orders for node in (1, 2, 3, 4)]

    assert asyncio.run(scenario()) == [True, False, True, False]


def test_a_load_overtaken_by_a_write_is_used_once_not_kept() -> None:
    async def scenario() -> tuple[int, bool]:
        orders = NodeOrders()

        async def load() -> NodeOrder:
            orders.forget([1])  # a write committed while the keys were read
            return NodeOrder.of(KEYS)

        order = await orders.get(1, load)
        return len(order), 1 in orders._orders

    assert asyncio.run(scenario()) == (4, False)


def test_keys_added_and_removed_in_place() -> None:
    order = NodeOrder.of(KEYS)
    # a row rewritten in place (same key) changes nothing; a new tie goes among its ties
    assert order.apply(added=[(1.0, 7), (1.0, 8), (3.0, 10)], removed=[(1.0, 3)])
    assert list(zip(order.created, order.ids)) == [(1.0, 7), (1.0, 8), (1.0, 9), (2.0, 4), (3.0, 10)]
    assert not order.apply(added=[], removed=[(1.0, 3)])  # not there: the order was stale
