"""Encoded pages of cached pubsub nodes, kept in memory: a repeated read of an unchanged node
does not go to the database.

A ``PsItemsGet`` of a ``completed`` node is answered by
:meth:`~.pubsub_cache_storage.PubsubCacheStorage.read_encoded_page`: on PostgreSQL the
server's page (``json_agg`` escaping every item's XML, ≈2 ms of its CPU for 1,000 items)
plus asyncpg receiving it kept the read at 18–20× the service's (issue 14 asks 30×). Most
reads of a node ask the same page again (a frontend opening a blog) while nothing changed,
so the :class:`~.pubsub_cache_pages.EncodedPage` the database made is kept here, keyed by
node id and :class:`~sat_backend.core.result_set.PageRequest` (a frozen dataclass: every
field of the request is in the key).

The pages are a cache of the items table, right only while every write to a node goes
through :class:`~.pubsub_cache_storage.PubsubCacheStorage`, which wraps it in
:meth:`PageAnswers.writing` (one node, several, or all of them for bulk writes):

* the node's pages are dropped when the write begins, and no page of it is served or kept
  until the write has ended (committed or not): a read during a write goes to the database;
* a read that began before a write ended keeps nothing (its rows may be the old ones): each
  write's end is stamped with a tick of :attr:`PageAnswers._clock`, compared with the tick
  the read began at.

Bounded by bytes (:data:`DEFAULT_MAX_BYTES`, least recently used dropped first); a page
larger than :data:`MAX_PAGE_SHARE` of the bound is served once and not kept. Stdlib only:
imported by the storage of the cache, never at start.
"""

from __future__ import annotations

import sys
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterator
from contextlib import contextmanager

from sat_backend.core.result_set import PageRequest
from sat_backend.memory.pubsub_cache_pages import EncodedPage

#: bytes of pages kept for all nodes together (1,000 bench items are a 290 KB page)
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
#: a page larger than this share of the bound is not kept (it would push out most others)
MAX_PAGE_SHARE = 4
#: what a kept page costs beside its strings (key, entry, dataclass), roughly
ENTRY_OVERHEAD = 400

Key = tuple[int, PageRequest]


def page_bytes(page: EncodedPage) -> int:
    """The memory a kept page holds (its strings as Python holds them, and the entry)."""
    return sys.getsizeof(page.items_json) + sum(sys.getsizeof(edge) for edge in page.edges) + ENTRY_OVERHEAD


class PageAnswers:
    """Encoded pages by node id and page request, bounded by bytes."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.kept_bytes = 0
        self._pages: OrderedDict[Key, tuple[EncodedPage, int]] = OrderedDict()
        self._by_node: dict[int, set[PageRequest]] = {}
        #: ticked by every write's start and end
        self._clock = 0
        #: node → the tick its last write ended at (only while reads are in flight)
        self._written: dict[int, int] = {}
        self._all_written = 0
        #: writes in progress, per node and of every node
        self._writing: Counter[int] = Counter()
        self._writing_all = 0
        self._reads_in_flight = 0
        #: served from memory, and read from the database (what the bench and tests look at)
        self.hits = 0
        self.misses = 0

    async def get(self, node_id: int, request: PageRequest,
                  read: Callable[[], Awaitable[EncodedPage | None]]) -> EncodedPage | None:
        """The page kept for ``(node_id, request)``, else ``read()``'s, kept if no write of
        the node began or ended meanwhile (None, the order was stale: not kept)."""
        key = (node_id, request)
        kept = self._pages.get(key)
        if kept is not None:
            self._pages.move_to_end(key)
            self.hits += 1
            return kept[0]
        self.misses += 1
        if self._is_writing(node_id):
            return await read()
        began = self._clock
        self._reads_in_flight += 1
        try:
            page = await read()
            if page is not None and not self._is_writing(node_id) and self._unwritten_since(node_id, began):
                self._keep(key, page)
            return page
        finally:
            self._reads_in_flight -= 1
            if not self._reads_in_flight:
                self._written.clear()  # no read left to compare with: bounded by the reads in flight

    @contextmanager
    def writing(self, node_ids: Collection[int] | None) -> Iterator[None]:
        """Around a write of ``node_ids`` (every node if None): their pages dropped, none
        kept or served until it ends, and no read begun before its end keeps one."""
        nodes = None if node_ids is None else set(node_ids)
        self._clock += 1
        if nodes is None:
            self._writing_all += 1
        else:
            self._writing.update(nodes)
        self.forget(nodes)
        try:
            yield
        finally:
            self._clock += 1
            if nodes is None:
                self._writing_all -= 1
                self._all_written = self._clock
            else:
                self._writing.subtract(nodes)
                for node_id in nodes:
                    if self._writing[node_id] <= 0:
                        del self._writing[node_id]
                    if self._reads_in_flight:
                        self._written[node_id] = self._clock
            self.forget(nodes)

    def written(self, node_ids: Collection[int] | None) -> None:
        """A write of ``node_ids`` (every node if None) made elsewhere has ended (node
        ids given again, a profile's cascade): as :meth:`writing` around it."""
        with self.writing(node_ids):
            pass

    def forget(self, node_ids: Collection[int] | None = None) -> None:
        """Drop the pages of ``node_ids`` (every one if None)."""
        if node_ids is None:
            self._pages.clear()
            self._by_node.clear()
            self.kept_bytes = 0
            return
        for node_id in node_ids:
            for request in self._by_node.pop(node_id, ()):
                _, size = self._pages.pop((node_id, request))
                self.kept_bytes -= size

    def __len__(self) -> int:
        return len(self._pages)

    def _is_writing(self, node_id: int) -> bool:
        return bool(self._writing_all) or node_id in self._writing

    def _unwritten_since(self, node_id: int, began: int) -> bool:
        return self._all_written <= began and self._written.get(node_id, 0) <= began

    def _keep(self, key: Key, page: EncodedPage) -> None:
        size = page_bytes(page)
        if size * MAX_PAGE_SHARE > self.max_bytes or key in self._pages:
            return  # too large: served once, not kept; or two reads of one page met
        self._pages[key] = (page, size)
        self._by_node.setdefault(key[0], set()).add(key[1])
        self.kept_bytes += size
        while self.kept_bytes > self.max_bytes:
            (node_id, request), (_, dropped) = self._pages.popitem(last=False)
            self.kept_bytes -= dropped
            requests = self._by_node[node_id]
            requests.discard(request)
            if not requests:
                del self._by_node[node_id]
