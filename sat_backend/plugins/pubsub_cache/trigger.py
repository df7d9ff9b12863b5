"""The pubsub cache's ``PsItemsGet`` trigger: a request answered from the database for a
synchronised (``completed``) node, paged as the network path pages; a node never seen is
asked of the service by us, so that the answer's payload namespace is analysed (and the
node synchronised when an analyser says so); otherwise the pubsub plugin asks the service.
Before a ``completed`` node is served while online, its existence may be confirmed with the
service (:mod:`.existence`: services that do not notify deletes).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.result_set import PageRequest, rsm_answer
from sat_backend.core.triggers import ShortCircuit
from sat_backend.core.xml_payloads import check_xml, to_domish
from sat_backend.core.lazy_import import lazy_module
from sat_backend.memory.pubsub_cache_values import CachedNode, SyncState
from sat_backend.plugins.plugin_xep_0060 import RSM_PAGE_SIZE, EncodedItems, ItemsRequest, ItemsResult
from sat_backend.plugins.pubsub_cache.analysers import Analysers
from sat_backend.plugins.pubsub_cache.existence import ExistenceCheck
from sat_backend.plugins.pubsub_cache.node_sync import NodeSync

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.memory import pubsub_cache_pages
    from sat_backend.memory.pubsub_cache_pages import EncodedPage, StoredPage
    from sat_backend.memory.pubsub_cache_storage import PubsubCacheStorage
else:  # builds Core statements at import (SQLAlchemy): imported by the first page served
    pubsub_cache_pages = lazy_module("sat_backend.memory.pubsub_cache_pages")

log = logging.getLogger(__name__)


class ItemsTrigger:
    """Registered on the pubsub plugin's :data:`~sat_backend.plugins.plugin_xep_0060.ITEMS_GET_TRIGGER`."""

    def __init__(self, host: Backend, storage: PubsubCacheStorage, analysers: Analysers, node_sync: NodeSync,
                 existence: ExistenceCheck) -> None:
        self.host = host
        self.existence = existence
        self.pubsub = host.plugins["XEP-0060"]
        self.storage = storage
        self.analysers = analysers
        self.node_sync = node_sync

    async def on_items_get(self, request: ItemsRequest) -> ShortCircuit[ItemsResult] | None:
        """The ``PsItemsGet`` trigger: the answer from the database for a ``completed`` node,
        the service's answer for a node seen for the first time (then analysed), else None
        (the pubsub plugin asks the service)."""
        if not request.use_cache or request.sub_id or not self.host.config.pubsub_cache:
            return None
        if await self.host.params.get_public("Pubsub", "UseCache", request.profile) != "true":
            return None
        node = await self.storage.get_node(request.profile, request.service.full(), request.node)
        if node is not None and node.sync_state == SyncState.COMPLETED:
            if (request.client is not None and node.id not in self.node_sync.syncing
                    and not await self.existence.still_exists(request.client, request.service, node)):
                return None  # deleted unnotified: the service's item-not-found reaches the caller
            if request.client is not None and node.id not in self.node_sync.syncing and self.analysers.stale_parsed(node):
                log.info("%s: node %s was parsed by another parser version: synchronised again",
                         request.profile, node.name)
                self.node_sync.start(request.profile, request.service, request.node)
            return ShortCircuit(await self.answer(node, request))
        if request.client is None:
            return None  # offline and not cached: the normal path reports it
        if node is not None and node.sync_state == SyncState.IN_PROGRESS:
            if node.id not in self.node_sync.syncing:  # left by a sync the connection's end cut short
                self.node_sync.start(request.profile, request.service, request.node)
            return None
        if node is not None and node.sync_state == SyncState.NO_SYNC:
            return None
        if node is not None and node.sync_state == SyncState.ERROR:
            if self.node_sync.retry_due(node):
                self.node_sync.start(request.profile, request.service, request.node)
            return None
        # never analysed: ask the service ourselves, then analyse with the payload namespace
        result = await self.pubsub.fetch_items(request)
        await self._analyse(request, result)
        return ShortCircuit(result)

    async def _analyse(self, request: ItemsRequest, result: ItemsResult) -> None:
        namespace = _payload_namespace(result.items[0]) if result.items else None
        analyser = self.analysers.find(request.node, namespace)
        node = await self.storage.ensure_node(request.profile, request.service.full(), request.node)
        if analyser is None or not analyser.to_sync:
            await self.storage.set_analysed(node.id, SyncState.NO_SYNC, analyser=analyser.name if analyser else None,
                                            type=analyser.type if analyser else None,
                                            subtype=analyser.subtype if analyser else None)
            return
        await self.storage.set_analysed(node.id, None, analyser=analyser.name, type=analyser.type,
                                        subtype=analyser.subtype)
        self.node_sync.start(request.profile, request.service, request.node)

    async def answer(self, node: CachedNode, request: ItemsRequest) -> ItemsResult:
        """A request answered from the node's rows, paged by the same rules as the network
        path pages a service's answer that ignores RSM (:class:`PageRequest`): one request,
        one page, wherever it is answered from. Only the page's rows are read, by keyset
        on an index (reading every item id and sorting them grew with the node)."""
        if request.rsm:
            page_request = PageRequest.from_rsm(request.rsm, RSM_PAGE_SIZE)
        else:  # max_items alone: the most recent ones (XEP-0060 §6.5.7)
            page_request = PageRequest(request.max_items)
        parser = self.analysers.current_parser(node) if request.want_parsed else None
        page: StoredPage | EncodedPage | None = None
        if request.encoded and parser is None and not request.item_ids and request.order_by != "modification":
            page = await self.storage.read_encoded_page(node.id, page_request)
        if page is None:
            page = await self.storage.read_page(node.id, page_request, item_ids=request.item_ids,
                                                order_by=request.order_by, parsed=parser is not None)
        edges = page.edges
        if request.rsm:
            rsm = rsm_answer(edges, page.start, page.count)
        else:
            rsm = {"index": page.start, "count": page.count, **({"first": edges[0], "last": edges[-1]} if edges else {})}
        complete = page.start == 0 and page.end == page.count
        if request.item_ids:
            complete = complete and page.count == len(set(request.item_ids))
        if isinstance(page, pubsub_cache_pages.EncodedPage):
            return ItemsResult(EncodedItems(page.items_json, page.end - page.start), node.service, node.name, rsm,
                               complete=complete, cached=True)
        return ItemsResult([xml for _, xml, _ in page.rows], node.service, node.name, rsm, complete=complete,
                           cached=True, parsed=[parsed for _, _, parsed in page.rows] if parser else None,
                           parser=parser)


def _parse_item(xml: str) -> domish.Element | None:
    """An item as ``domish``, or None when it is not safe, well-formed XML."""
    try:
        return to_domish(check_xml(xml, "item"))
    except InvalidArgument as exc:
        log.warning("unparsable pubsub item kept raw: %s", exc)
        return None


def _payload_namespace(item_xml: str) -> str | None:
    element = _parse_item(item_xml)
    if element is None:
        return None
    for child in element.elements():
        return str(child.uri) if child.uri else None
    return None
