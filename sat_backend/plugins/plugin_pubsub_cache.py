"""The transparent pubsub cache, as a plugin: its declaration, params, and the wiring of
:mod:`sat_backend.plugins.pubsub_cache` (design: ``shared/docs/pubsub-cache.md``,
doc/developer.rst).

``PsItemsGet`` runs the pubsub plugin's trigger point (:mod:`.pubsub_cache.trigger`);
*analysers* registered by any plugin (:meth:`PubsubCache.register_analyser`) decide
which nodes are synchronised (:mod:`.pubsub_cache.node_sync`); notifications keep them
fresh (:mod:`.pubsub_cache.ingest`), and every (re)connection compares them with their
service (:mod:`.pubsub_cache.reconnect`); a node read after a while is confirmed to
still exist (:mod:`.pubsub_cache.existence`). The ``PsCache*`` members are here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sat_backend.core.exceptions import NotSupported
from sat_backend.core.json_arguments import optional_timestamp, parse_json_object, string_list
from sat_backend.core.params import ParamDefinition
from sat_backend.core.lazy_import import lazy_instance, lazy_module
from sat_backend.plugins.plugin_xep_0060 import ITEMS_GET_TRIGGER, check_node
from sat_backend.plugins.pubsub_cache.analysers import Analysers
from sat_backend.plugins.pubsub_cache.existence import REVALIDATE_PARAM, ExistenceCheck
from sat_backend.plugins.pubsub_cache.ingest import Ingest
from sat_backend.plugins.pubsub_cache.node_sync import NodeSync
from sat_backend.plugins.pubsub_cache.reconnect import ReconnectCheck
from sat_backend.plugins.pubsub_cache.search import CacheSearch
from sat_backend.plugins.pubsub_cache.trigger import ItemsTrigger

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.memory import pubsub_cache_storage
    from sat_backend.memory.pubsub_cache_storage import PubsubCacheStorage
else:  # builds Core statements at import (SQLAlchemy): imported by the cache's first use
    pubsub_cache_storage = lazy_module("sat_backend.memory.pubsub_cache_storage")

log = logging.getLogger(__name__)

#: a node with more items than this is not synchronised (``Pubsub/CacheMaxItems`` param)
DEFAULT_MAX_ITEMS = 10_000

PURGE_KEYS = ("services", "nodes", "types", "subtypes", "profiles", "created_before", "updated_before")

PLUGIN_INFO = {
    "name": "Pubsub cache",
    "import_name": "PUBSUB_CACHE",
    "type": "cache",
    "protocols": [],
    "dependencies": ["XEP-0060", "XEP-0030"],
    "main": "PubsubCache",
    "handler": True,
    "description": "Transparent cache of pubsub nodes, with analysers and parsers",
}

CACHE_PARAMS = (
    ParamDefinition("Pubsub", "UseCache", "bool", "true", "Answer pubsub reads from the local cache when possible"),
    ParamDefinition("Pubsub", "CacheMaxItems", "int", str(DEFAULT_MAX_ITEMS),
                    "Nodes with more items than this are not cached", minimum=1, maximum=1_000_000),
    REVALIDATE_PARAM,
)


class PubsubCache:
    """The plugin: the pieces of the cache, wired; the ``PsCache*`` members."""

    def __init__(self, host: Backend) -> None:
        self.host = host
        self.pubsub = host.plugins["XEP-0060"]
        #: made (with its module) by the first use of the cache, not by a start
        self.storage: PubsubCacheStorage = lazy_instance(lambda: pubsub_cache_storage.PubsubCacheStorage(host.storage))
        self.analysers = Analysers()
        #: any plugin declares its kinds of node here (:meth:`Analysers.register`)
        self.register_analyser = self.analysers.register
        self.node_sync = NodeSync(host, self.storage, self.analysers)
        #: for services that do not notify deletes (:mod:`.pubsub_cache.existence`)
        self.existence = ExistenceCheck(host)
        self.trigger = ItemsTrigger(host, self.storage, self.analysers, self.node_sync, self.existence)
        self.ingest = Ingest(self.storage, self.analysers, self.node_sync)

    async def initialise(self) -> None:
        """Params, trigger, event listener and members; nodes a stop left mid-sync are reset."""
        for definition in CACHE_PARAMS:
            self.host.params_registry.declare(definition)
        self.host.bridge.enable_signal("PsCacheSyncProgress")
        reconnect_check = ReconnectCheck(self.node_sync)
        self.host.sessions.add_handler_factory(reconnect_check.make_handler)
        self.host.triggers.add(ITEMS_GET_TRIGGER, self.trigger.on_items_get)
        self.pubsub.event_listeners.append(self.ingest.on_events)
        self.host.profiles.deletion_listeners.append(self._profile_deleted)
        register = self.host.bridge.register_method
        register("PsCacheGet", self.cache_get)
        register("PsCacheSync", self.cache_sync)
        register("PsCacheReset", self.cache_reset)
        register("PsCachePurge", self.cache_purge)
        register("PsCacheSearch", CacheSearch(self.host.storage))
        await self.node_sync.reset_interrupted()

    def _profile_deleted(self, name: str) -> None:
        """The cache storage forgets what it kept of the deleted profile's nodes. Its
        listener is looked up here, at a deletion: read at start, ``self.storage`` would be
        made there, and SQLAlchemy imported before ready."""
        self.storage.profile_deleted(name)

    # bridge members ----------------------------------------------------------------------------------

    async def cache_get(self, service: str, node: str, max_items: int, item_ids: list[str], sub_id: str,
                        extra_json: str, profile: str) -> str:
        """``PsCacheGet``: a request answered by the cache only.

        :raises NotFound: the node is not cached (``completed``).
        """
        request = await self.pubsub.items_request(service, node, max_items, item_ids, sub_id, extra_json, profile,
                                                  encoded=True)
        cached = await self.storage.require_node(request.profile, request.service.full(), request.node)
        return (await self.trigger.answer(cached, request)).to_json()

    async def cache_sync(self, service: str, node: str, profile: str) -> None:
        """``PsCacheSync``: synchronise a node now, and return once it is done.

        :raises NotSupported: the cache is turned off in sat.conf.
        :raises InvalidArgument: empty node, or one XML cannot carry.
        """
        if not self.host.config.pubsub_cache:
            raise NotSupported("the pubsub cache is turned off in the configuration ([pubsub] cache)")
        check_node(node)  # it goes into the subscribe and items requests
        resolved = await self.host.profiles.resolve(profile)
        target = await self.pubsub.service_jid(service, resolved)
        # synchronised even when no analyser asked for it: the user did (no parser then)
        await self.node_sync.sync(resolved, target, node)

    async def cache_purge(self, filters_json: str) -> None:
        """``PsCachePurge``: delete the matching items; their nodes are synchronised again.

        :raises InvalidArgument: unknown key or malformed value.
        """
        filters = parse_json_object(filters_json, "filters_json", PURGE_KEYS)
        purge_filters = pubsub_cache_storage.PurgeFilters(
            services=string_list(filters, "services"),
            nodes=string_list(filters, "nodes"),
            types=string_list(filters, "types"),
            subtypes=string_list(filters, "subtypes"),
            profiles=string_list(filters, "profiles"),
            created_before=optional_timestamp(filters, "created_before"),
            updated_before=optional_timestamp(filters, "updated_before"),
        )
        items, nodes = await self.storage.purge(purge_filters)
        log.info("pubsub cache purge: %d item(s) deleted, %d node(s) to synchronise again", items, nodes)

    async def cache_reset(self) -> None:
        """``PsCacheReset``: drop every cached node and item."""
        dropped = await self.storage.reset()
        log.info("pubsub cache reset (%d nodes dropped)", dropped)
