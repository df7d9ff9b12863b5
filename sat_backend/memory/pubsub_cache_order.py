"""The order of a cached node's items, held in memory: positions without counting rows.

An RSM answer (XEP-0059) gives the page's ``index`` and the node's ``count``. In SQL
both are COUNTs of index ranges, which walk every entry they count: 2 ms (SQLite) to
5 ms (PostgreSQL) a page at 100k items, the part of a page that grew with the node
(issue 14). Here each node read keeps the ``(created, id)`` keys of its items, in the
cache's order, in two arrays (16 bytes an item): the position of a key is a binary
search, the count a length, and the page's rows are read by keyset from the key before
it (:mod:`.pubsub_cache_pages`).

The arrays are a cache of the table, right only while every write to a node's items
goes through :class:`~.pubsub_cache_storage.PubsubCacheStorage`, which, after its
commit, either updates the node's order with the keys it inserted and deleted
(notifications: :meth:`NodeOrders.update`, so a node read while it is notified is not
loaded again) or drops it (a sync, a purge: :meth:`NodeOrders.forget`). A page checks the
ids it read against the order anyway, and a mismatch drops it. Orders are loaded on the
worker-thread engine (a node's every key), bounded in total (:data:`MAX_KEPT_KEYS`,
least recently used dropped), and a load that a write overtook is not kept.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

#: keys kept for all nodes together (16 bytes each: 8 MB)
MAX_KEPT_KEYS = 500_000


@dataclass(frozen=True)
class NodeOrder:
    """The keys of a node's items, oldest first by ``created`` then row id."""

    created: array[float]
    ids: array[int]

    @classmethod
    def of(cls, keys: Iterable[tuple[float, int]]) -> NodeOrder:
        listed = keys if isinstance(keys, list) else list(keys)
        return cls(array("d", [value for value, _ in listed]), array("q", [row_id for _, row_id in listed]))

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, created: float, row_id: int) -> int | None:
        """Where the item of this key stands (None: not in the order)."""
        index = self._slot(created, row_id)
        found = index < len(self.ids) and self.ids[index] == row_id and self.created[index] == created
        return index if found else None

    def key(self, index: int) -> tuple[float, int]:
        return self.created[index], self.ids[index]

    def _slot(self, created: float, row_id: int) -> int:
        """Where this key is, or would be inserted."""
        low = bisect_left(self.created, created)
        # ties (one ``created``) are in id order
        return bisect_left(self.ids, row_id, low, bisect_right(self.created, created, low))

    def apply(self, added: Iterable[tuple[float, int]], removed: Iterable[tuple[float, int]]) -> bool:
        """Remove then add keys, in place; False if a removed key was not there (the order
        was stale: its holder drops it). A key added that is there already (an item
        rewritten in place keeps its row and ``created``) changes nothing."""
        for created, row_id in removed:
            index = self.position(created, row_id)
            if index is None:
                return False
            del self.created[index], self.ids[index]
        for created, row_id in added:
            if self.position(created, row_id) is not None:
                continue
            index = self._slot(created, row_id)
            self.created.insert(index, created)
            self.ids.insert(index, row_id)
        return True


class NodeOrders:
    """The orders of the nodes read lately, by node id."""

    def __init__(self, max_keys: int = MAX_KEPT_KEYS) -> None:
        self.max_keys = max_keys
        self._orders: OrderedDict[int, NodeOrder] = OrderedDict()
        self._kept = 0
        #: bumped by each :meth:`forget`: a load that began before is not kept
        self._generation = 0

    async def get(self, node_id: int, load: Callable[[], Awaitable[NodeOrder]]) -> NodeOrder:
        """The node's order, loaded with ``load`` if not kept."""
        order = self._orders.get(node_id)
        if order is not None:
            self._orders.move_to_end(node_id)
            return order
        generation = self._generation
        order = await load()
        if generation == self._generation and node_id not in self._orders:
            self._keep(node_id, order)
        return order

    def update(self, node_id: int, added: Iterable[tuple[float, int]], removed: Iterable[tuple[float, int]]) -> None:
        """A committed write of the node inserted ``added`` and deleted ``removed``."""
        self._generation += 1  # a load begun before the commit may have read the rows before it
        order = self._orders.get(node_id)
        if order is None:
            return
        before = len(order)
        if not order.apply(added, removed):
            self.forget([node_id])
            return
        self._kept += len(order) - before

    def forget(self, node_ids: Iterable[int] | None = None) -> None:
        """Drop the orders of ``node_ids`` (every one if None): their items changed."""
        self._generation += 1
        for node_id in list(self._orders) if node_ids is None else node_ids:
            order = self._orders.pop(node_id, None)
            if order is not None:
                self._kept -= len(order)

    def _keep(self, node_id: int, order: NodeOrder) -> None:
        if len(order) > self.max_keys:
            return  # larger than the whole budget: read, used once, not kept
        self._orders[node_id] = order
        self._kept += len(order)
        while self._kept > self.max_keys:
            _, dropped = self._orders.popitem(last=False)
            self._kept -= len(dropped)
