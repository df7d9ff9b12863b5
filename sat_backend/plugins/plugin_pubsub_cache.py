"""The transparent pubsub cache (design: ``shared/docs/pubsub-cache.md``, doc/developer.rst).

``PsItemsGet`` runs the pubsub plugin's trigger point; here we answer from the database
when the node is synchronised (``completed``), and otherwise ask the service ourselves so
that the first answer also tells us the payload namespace to analyse. *Analysers*
(registered by any plugin) decide whether a node is synchronised: the first match, by
priority then registration order; none, ``to_sync`` false or an error → not synchronised.

A sync subscribes to the node first (notifications that arrive while it runs are applied
over its snapshot before it ends, so none is missed), lists every item id
(disco#items on the node: Prosody 0.12 ignores RSM on items), fetches them by batches of
ids, and marks the node ``completed`` only when all of them are stored. A node larger
than the limit is ``no_sync`` (never served half). A failure marks it ``error``; it is
tried again later, with a growing delay; a sync cut short by the end of the session
leaves the node ``in_progress``, not in error. At start, nodes left ``in_progress`` by a
stop mid-sync are reset; while running, a read of a node ``in_progress`` with no sync
running starts one. Either way the node is synchronised again on its next read. On
every (re)connection, synchronised nodes are compared with their service
(:mod:`.pubsub_cache_reconnect`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from lxml import etree
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import Conflict, InvalidArgument, Network, NotSupported, ProfileNotConnected
from sat_backend.core.im.background import run_in_background
from sat_backend.core.json_arguments import optional_timestamp, parse_json_object, string_list
from sat_backend.core.params import ParamDefinition
from sat_backend.core.result_set import PageRequest, rsm_answer
from sat_backend.core.sessions import new_iq, wait
from sat_backend.core.triggers import ShortCircuit
from sat_backend.core.domish_serializer import element_xml
from sat_backend.core.xml_payloads import check_xml, parse_untrusted, to_domish
from sat_backend.memory.pubsub_cache_storage import (
    CachedItem, ChangeOutcome, NodeChange, PubsubCacheStorage, PurgeFilters,
)
from sat_backend.memory.sqla_mapping import PubsubNode, SyncState
from sat_backend.plugins.pubsub_cache_search import CacheSearch
from sat_backend.plugins.plugin_xep_0060 import (
    ITEMS_GET_TRIGGER,
    RSM_PAGE_SIZE,
    ItemsRequest,
    ItemsResult,
    PubsubEvent,
    check_node,
)
from sat_backend.plugins.pubsub_cache_existence import REVALIDATE_PARAM, ExistenceCheck
from sat_backend.plugins.pubsub_cache_reconnect import ReconnectCheck, ReconnectHandler

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"
#: items fetched per request during a sync
SYNC_BATCH = 100
#: a node with more items than this is not synchronised (``Pubsub/CacheMaxItems`` param)
DEFAULT_MAX_ITEMS = 10_000
#: first retry delay of a node in ``error``; doubles up to a day
RETRY_BASE_DELAY = 60.0
RETRY_MAX_DELAY = 86_400.0

PURGE_KEYS = ("services", "nodes", "types", "subtypes", "profiles", "created_before", "updated_before")

PLUGIN_INFO = {
    "name": "Pubsub cache",
    "import_name": "PUBSUB_CACHE",
    "type": "cache",
    "protocols": [],
    "dependencies": ["XEP-0060"],
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

Parser = Callable[[domish.Element], dict[str, Any]]
MatchCallback = Callable[[str, str | None], bool]


@dataclass(frozen=True)
class Analyser:
    """A registered kind of node (see :meth:`PubsubCache.register_analyser`)."""

    name: str
    type: str
    node: str | None
    namespace: str | None
    to_sync: bool
    parser: Parser | None
    match_cb: MatchCallback | None
    priority: int
    order: int
    #: stored as the node's ``subtype`` (e.g. ``comment`` for blog comment nodes)
    subtype: str | None = None
    #: of the parser's output, recorded at each sync; a node synchronised with another one
    #: is served without its parsed data and synchronised again (every item re-parsed)
    parser_version: int = 0

    def matches(self, node: str, namespace: str | None) -> bool:
        """The node prefix and payload namespace, where given, match; then ``match_cb``."""
        if self.node is not None and not node.startswith(self.node):
            return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        return self.match_cb(node, namespace) if self.match_cb is not None else True


class PubsubCache:
    """The plugin: the ``PsItemsGet`` trigger, syncs, notifications and ``PsCache*`` members."""

    def __init__(self, host: Backend) -> None:
        self.host = host
        self.pubsub = host.plugins["XEP-0060"]
        self.storage = PubsubCacheStorage(host.storage)
        self.analysers: dict[str, Analyser] = {}
        self._syncing: dict[int, asyncio.Task[None]] = {}
        #: changes notified for a node while it is being synchronised, applied over the
        #: sync's snapshot before the node is ``completed`` (else an item published between
        #: the fetch and the end of the sync would be signalled but never stored)
        self._held: dict[int, list[NodeChange]] = {}
        #: per profile: notifications are applied, or a sync ends, one at a time
        self._ingest_locks: dict[str, asyncio.Lock] = {}
        #: for services that do not notify deletes (pubsub_cache_existence)
        self.existence = ExistenceCheck(self)

    async def initialise(self) -> None:
        """Params, trigger, event listener and members; nodes a stop left mid-sync are reset."""
        for definition in CACHE_PARAMS:
            self.host.params_registry.declare(definition)
        self.host.bridge.enable_signal("PsCacheSyncProgress")
        reconnect_check = ReconnectCheck(self)
        self.host.sessions.add_handler_factory(lambda client: ReconnectHandler(reconnect_check, client))
        self.host.triggers.add(ITEMS_GET_TRIGGER, self.on_items_get)
        self.pubsub.event_listeners.append(self.on_events)
        register = self.host.bridge.register_method
        register("PsCacheGet", self.cache_get)
        register("PsCacheSync", self.cache_sync)
        register("PsCacheReset", self.cache_reset)
        register("PsCachePurge", self.cache_purge)
        register("PsCacheSearch", CacheSearch(self.host.storage))
        for node in await self.storage.nodes(SyncState.IN_PROGRESS):
            log.info("node %s of %s was left mid-sync: it will be synchronised again", node.name, node.service)
            await self.storage.set_state(node.id, None)

    # analysers ------------------------------------------------------------------------------

    def register_analyser(
        self, name: str, type: str, *, node: str | None = None, namespace: str | None = None,
        to_sync: bool = False, parser: Parser | None = None, match_cb: MatchCallback | None = None,
        priority: int = 0, subtype: str | None = None, parser_version: int = 0,
    ) -> None:
        """Declare how to recognise a kind of node (by name prefix and/or payload namespace).

        :raises Conflict: an analyser with this name exists.
        :raises ValueError: neither ``node`` nor ``namespace`` is given.
        """
        if name in self.analysers:
            raise Conflict(f"an analyser named {name!r} is already registered")
        if node is None and namespace is None:
            raise ValueError("an analyser needs a node prefix, a namespace, or both")
        self.analysers[name] = Analyser(name, type, node, namespace, to_sync, parser, match_cb, priority,
                                        len(self.analysers), subtype, parser_version)

    def find_analyser(self, node: str, namespace: str | None) -> Analyser | None:
        """The first analyser matching, by priority then registration order."""
        for analyser in sorted(self.analysers.values(), key=lambda a: (-a.priority, a.order)):
            try:
                if analyser.matches(node, namespace):
                    return analyser
            except Exception:  # noqa: BLE001 - a broken match_cb means "no match", not a crash
                log.exception("analyser %s failed", analyser.name)
        return None

    # the trigger -------------------------------------------------------------------------------

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
            if (request.client is not None and node.id not in self._syncing
                    and not await self.existence.still_exists(request.client, request.service, node)):
                return None  # deleted unnotified: the service's item-not-found reaches the caller
            if request.client is not None and node.id not in self._syncing and self._stale_parsed(node):
                log.info("%s: node %s was parsed by another parser version: synchronised again",
                         request.profile, node.name)
                self._start_sync(request.profile, request.service, request.node)
            return ShortCircuit(await self.answer(node, request))
        if request.client is None:
            return None  # offline and not cached: the normal path reports it
        if node is not None and node.sync_state == SyncState.IN_PROGRESS:
            if node.id not in self._syncing:  # left by a sync the connection's end cut short
                self._start_sync(request.profile, request.service, request.node)
            return None
        if node is not None and node.sync_state == SyncState.NO_SYNC:
            return None
        if node is not None and node.sync_state == SyncState.ERROR:
            if self._retry_due(node):
                self._start_sync(request.profile, request.service, request.node)
            return None
        # never analysed: ask the service ourselves, then analyse with the payload namespace
        result = await self.pubsub.fetch_items(request)
        await self._analyse(request, result)
        return ShortCircuit(result)

    async def _analyse(self, request: ItemsRequest, result: ItemsResult) -> None:
        namespace = _payload_namespace(result.items[0]) if result.items else None
        analyser = self.find_analyser(request.node, namespace)
        node = await self.storage.ensure_node(request.profile, request.service.full(), request.node)
        if analyser is None or not analyser.to_sync:
            await self.storage.set_state(node.id, SyncState.NO_SYNC, analyser=analyser.name if analyser else None,
                                         type=analyser.type if analyser else None,
                                         subtype=analyser.subtype if analyser else None)
            return
        await self.storage.set_state(node.id, None, analyser=analyser.name, type=analyser.type,
                                     subtype=analyser.subtype)
        self._start_sync(request.profile, request.service, request.node)

    def _retry_due(self, node: PubsubNode) -> bool:
        failures = int((node.extra or {}).get("failures", 1))
        delay = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2 ** (failures - 1))
        return time.time() - node.sync_state_updated >= delay

    # synchronisation --------------------------------------------------------------------------------

    def _start_sync(self, profile: str, service: JID, node_name: str) -> None:
        run_in_background(self.sync(profile, service, node_name), f"{profile}: sync of {node_name}", profile)

    async def sync(self, profile: str, service: JID, node_name: str) -> PubsubNode:
        """Synchronise a node now (one sync at a time per node); returns the node row."""
        node = await self.storage.ensure_node(profile, service.full(), node_name)
        running = self._syncing.get(node.id)
        if running is None:
            running = asyncio.ensure_future(self._sync(profile, service, node))
            self._syncing[node.id] = running
            running.add_done_callback(lambda _: self._syncing.pop(node.id, None))
        await asyncio.shield(running)
        return node

    async def _sync(self, profile: str, service: JID, node: PubsubNode) -> None:
        self._held[node.id] = []  # before subscribing: every notification from now on is kept
        try:
            await self._synchronise(profile, service, node)
        finally:
            self._held.pop(node.id, None)

    async def _synchronise(self, profile: str, service: JID, node: PubsubNode) -> None:
        client = self.host.sessions.get_client(profile)  # offline: the node is left as it is
        await self.storage.set_state(node.id, SyncState.IN_PROGRESS)
        try:
            await self.subscribe(client, service, node.name)
            ids = await self.list_item_ids(client, service, node.name)
            self._progress(profile, service, node.name, 0, len(ids))
            limit = int(await self.host.params.get_public("Pubsub", "CacheMaxItems", profile))
            if len(ids) > limit:
                log.info("%s: node %s has %d items, more than %d: not cached", profile, node.name, len(ids), limit)
                # items of an earlier sync, when it had fewer, go with the state
                await self.storage.stop_caching(node.id, subscribed=True)
                return
            analyser = self.analysers.get(node.analyser or "")
            items = await self._fetch_all(profile, client, service, node.name, ids, analyser)
            kept = {key: value for key, value in (node.extra or {}).items() if key == "config"}  # not failures
            if analyser is not None and analyser.parser is not None:
                kept["parser_version"] = analyser.parser_version  # see _current_parser
            async with self._ingest_lock(profile):  # no notification is applied meanwhile
                await self.storage.replace_items(node.id, items)
                held, self._held[node.id] = self._held[node.id], []
                if held:
                    log.info("%s: %d change(s) notified during the sync of %s applied", profile, len(held), node.name)
                    await self.storage.apply_changes(held)
                await self.storage.set_state(node.id, SyncState.COMPLETED, subscribed=True, extra=kept)
            log.info("%s: node %s of %s cached (%d items)", profile, node.name, service.full(), len(items))
            self._progress(profile, service, node.name, len(ids), len(ids))  # the node can be read now
        except (ProfileNotConnected, Network) as exc:
            # the session ended (a stop, a lost connection): nothing is wrong with the node,
            # which stays "in progress" without a sync running: reset at the next start, or
            # synchronised again by the next read (no error, no backoff)
            log.info("%s: sync of %s interrupted (%s); it will be synchronised again", profile, node.name, exc)
            raise
        except Exception as exc:
            failures = int((node.extra or {}).get("failures", 0)) + 1
            log.warning("%s: sync of %s failed (%s); retry later", profile, node.name, exc)
            await self.storage.set_state(node.id, SyncState.ERROR, extra={"failures": failures, "error": str(exc)})
            raise

    async def _fetch_all(self, profile: str, client: XmppClient, service: JID, node_name: str, ids: list[str],
                         analyser: Analyser | None) -> list[CachedItem]:
        """Every listed item, oldest first.

        One plain request first: services without RSM on items (Prosody 0.12) return the
        whole node in publication order. Only if that misses listed items are they fetched
        by batches of ids (then in the listing's order, the service giving no other).
        """
        listed = set(ids)
        items: list[CachedItem] = []
        received: set[str] = set()  # names of ``items``, kept with them (not rebuilt per id)

        def add(xml_items: list[str]) -> None:
            new = [self._cached_item(xml, analyser) for xml in xml_items]
            items.extend(new)
            received.update(item.name for item in new)
            count = len(received & listed)
            if count < len(ids):  # received == total is said by _sync, once the node is stored
                self._progress(profile, service, node_name, count, len(ids))

        add(await self.fetch_from_service(client, service, node_name))
        missing = [name for name in ids if name not in received]
        for start in range(0, len(missing), SYNC_BATCH):
            add(await self.fetch_from_service(client, service, node_name, missing[start:start + SYNC_BATCH]))
        still_missing = listed - received
        if still_missing:
            raise RuntimeError(f"{len(still_missing)} item(s) listed but not returned by the service")
        return items

    async def subscribe(self, client: XmppClient, service: JID, node_name: str) -> None:
        """Subscribe our bare JID to the node, so that notifications keep it fresh."""
        handler = self.pubsub.handlers[client.profile]
        await self.pubsub.ask(handler.subscribe(service, node_name, JID(client.jid.userhost())),
                              f"subscribing to {node_name!r} for the cache")

    async def fetch_from_service(self, client: XmppClient, service: JID, node_name: str,
                                 item_ids: list[str] | None = None, max_items: int = 0) -> list[str]:
        """Items of a node asked of its service, never of the cache (raw XML, the service's
        order): the whole node, the ``item_ids`` given, or the ``max_items`` newest."""
        result = await self.pubsub.fetch_items(ItemsRequest(
            client.profile, client, service, node_name, max_items, list(item_ids or ()), None, {}, None, False))
        return result.items

    def _progress(self, profile: str, service: JID, node_name: str, received: int, total: int) -> None:
        self.host.bridge.emit("PsCacheSyncProgress", service.full(), node_name, received, total, profile)

    async def list_item_ids(self, client: XmppClient, service: JID, node_name: str) -> list[str]:
        """Every item id of the node, from disco#items on the node (XEP-0060 §5.5)."""
        iq = new_iq(client, "get")
        iq["to"] = service.full()
        iq.addElement((NS_DISCO_ITEMS, "query"))["node"] = node_name
        answer = await self.pubsub.ask(iq.send(), f"listing the items of {node_name!r}")
        query = next(answer.elements(NS_DISCO_ITEMS, "query"), None)
        if query is None:
            return []
        return [str(item["name"]) for item in query.elements(NS_DISCO_ITEMS, "item") if item.getAttribute("name")]

    def _cached_item(self, xml: str, analyser: Analyser | None, name: str | None = None) -> CachedItem:
        """The item to store: always its raw XML; parsed data only when it is safe XML and
        the parser succeeds (else it is kept raw, with a warning). ``name`` is the id when
        the caller already knows it (a notification's element), else read from the XML."""
        element = _parse_item(xml)
        parsed = None
        if analyser is not None and analyser.parser is not None and element is not None:
            try:
                parsed = analyser.parser(element)
            except Exception as exc:  # noqa: BLE001 - keep the raw item, log the parser's failure
                log.warning("parser %s failed on an item: %s", analyser.name, exc)
        if name is None:
            name = str(element.getAttribute("id", "")) if element is not None else _item_id(xml)
        return CachedItem(name, xml, parsed)

    # reading from the cache ----------------------------------------------------------------------------

    async def answer(self, node: PubsubNode, request: ItemsRequest) -> ItemsResult:
        """A request answered from the node's rows, paged by the same rules as the network
        path pages a service's answer that ignores RSM (:class:`PageRequest`): one request,
        one page, wherever it is answered from. Only the page's rows are read, by keyset
        on an index (reading every item id and sorting them grew with the node)."""
        if request.rsm:
            page_request = PageRequest.from_rsm(request.rsm, RSM_PAGE_SIZE)
        else:  # max_items alone: the most recent ones (XEP-0060 §6.5.7)
            page_request = PageRequest(request.max_items)
        parser = self._current_parser(node) if request.want_parsed else None
        page = await self.storage.read_page(node.id, page_request, item_ids=request.item_ids,
                                            order_by=request.order_by, parsed=parser is not None)
        names = page.names
        if request.rsm:
            rsm = rsm_answer(names, page.start, page.count)
        else:
            rsm = {"index": page.start, "count": page.count, **({"first": names[0], "last": names[-1]} if names else {})}
        complete = page.start == 0 and page.end == page.count
        if request.item_ids:
            complete = complete and page.count == len(set(request.item_ids))
        return ItemsResult([xml for _, xml, _ in page.rows], node.service, node.name, rsm, complete=complete,
                           cached=True, parsed=[parsed for _, _, parsed in page.rows] if parser else None,
                           parser=parser)

    def _current_parser(self, node: PubsubNode) -> str | None:
        """The node's analyser, when its items' parsed data is that of its parser as it is
        now: the node was last synchronised with this parser version."""
        analyser = self.analysers.get(node.analyser or "")
        if analyser is None or analyser.parser is None:
            return None
        return analyser.name if (node.extra or {}).get("parser_version") == analyser.parser_version else None

    def _stale_parsed(self, node: PubsubNode) -> bool:
        analyser = self.analysers.get(node.analyser or "")
        return analyser is not None and analyser.parser is not None and self._current_parser(node) is None

    # notifications -------------------------------------------------------------------------------------

    async def on_events(self, events: list[PubsubEvent]) -> None:
        """A batch of notifications of one profile: the changes of cached nodes in one
        transaction (the pubsub plugin emits ``PsEvent`` after we return).

        What changes nothing in a cached node is not signalled: an item already stored
        with the same content (Prosody 0.12 notifies a contact's post twice once we are
        subscribed: bare JID for the subscription, full JID for ``+notify``), a retract
        of an id the node does not have. The node is complete, so nothing the frontends
        got from us is missed; nodes not cached have nothing to compare: all signalled."""
        async with self._ingest_lock(events[0].client.profile):
            await self._ingest(events)

    def _ingest_lock(self, profile: str) -> asyncio.Lock:
        return self._ingest_locks.setdefault(profile, asyncio.Lock())

    async def _ingest(self, events: list[PubsubEvent]) -> None:
        nodes = await self.storage.get_nodes(events[0].client.profile,
                                             {(event.service.full(), event.node) for event in events})
        changes: list[tuple[NodeChange, PubsubEvent]] = []
        for event in events:
            key = (event.service.full(), event.node)
            node = nodes.get(key)
            syncing = node is not None and node.id in self._held
            if node is None or not (syncing or node.sync_state == SyncState.COMPLETED):
                continue
            event.category = node.type or "generic"
            try:
                change = self._change(node, event)
            except Exception:  # noqa: BLE001 - one bad notification must not cost the batch
                log.exception("%s: a %s notification of cached node %s could not be read; it will be "
                              "synchronised again", event.client.profile, event.event_type, event.node)
                await self.storage.set_state(node.id, None)  # never served with a change missing
                del nodes[key]  # its later events: not cached any more
                continue
            if change is None:
                continue
            if syncing:
                self._held[node.id].append(change)  # applied over the sync's snapshot at its end
            else:
                changes.append((change, event))
            if event.event_type == "delete":
                del nodes[key]  # later events of the batch: not cached
        if changes:
            outcomes = await self._apply(events[0].client.profile, [change for change, _ in changes], len(events))
            for (_, event), outcome in zip(changes, outcomes):
                _keep_changed(event, outcome)

    def _change(self, node: PubsubNode, event: PubsubEvent) -> NodeChange | None:
        if event.event_type == "items":
            analyser = self.analysers.get(node.analyser or "")
            items = []
            for element in event.items:
                name = element.getAttribute("id")
                if not name:
                    log.warning("%s: item without id in a notification of %s: not cached",
                                event.client.profile, event.node)
                    continue
                items.append(self._cached_item(element_xml(element), analyser, str(name)))
            event.parsed = {item.name: item.parsed for item in items if item.parsed is not None}
            return NodeChange(node.id, "items", items=tuple(items))
        if event.event_type == "retract":
            return NodeChange(node.id, "retract", names=tuple(event.retracted))
        if event.event_type in ("purge", "delete"):
            return NodeChange(node.id, event.event_type)
        if event.event_type == "config":
            return NodeChange(node.id, "config", config=event.config or {})
        return None

    async def _apply(self, profile: str, changes: list[NodeChange], events: int) -> list[ChangeOutcome]:
        """One transaction for the batch; if it fails, each change alone, so that one bad
        change costs only its own node: that node is set back to "not analysed" (it is
        synchronised again before being served, never served with a change missing).

        :returns: per change, what it did (a failed one: all of it signalled).
        """
        try:
            outcomes = await self.storage.apply_changes(changes)
            log.info("%s: pubsub cache ingest transaction #%d: %d change(s) from %d notification(s)",
                     profile, self.storage.ingest_transactions, len(changes), events)
            return outcomes
        except Exception as exc:  # noqa: BLE001 - fall back to one change at a time
            log.warning("%s: a batch of %d pubsub change(s) failed (%s); applying them one by one",
                        profile, len(changes), exc)
        outcomes = []
        for change in changes:
            try:
                outcomes.extend(await self.storage.apply_changes([change]))
            except Exception as exc:  # noqa: BLE001 - this node is resynchronised later
                log.warning("%s: a %s change of cached node #%d failed (%s); it will be synchronised again",
                            profile, change.kind, change.node_id, exc)
                outcomes.append(ChangeOutcome.applied(change))
                try:
                    await self.storage.set_state(change.node_id, None)
                except Exception:  # noqa: BLE001 - the batch's other changes are still applied
                    log.exception("%s: cached node #%d could not be set back to not analysed", profile,
                                  change.node_id)
        return outcomes

    # bridge members ----------------------------------------------------------------------------------

    async def cache_get(self, service: str, node: str, max_items: int, item_ids: list[str], sub_id: str,
                        extra_json: str, profile: str) -> str:
        """``PsCacheGet``: a request answered by the cache only.

        :raises NotFound: the node is not cached (``completed``).
        """
        request = await self.pubsub.items_request(service, node, max_items, item_ids, sub_id, extra_json, profile)
        cached = await self.storage.require_node(request.profile, request.service.full(), request.node)
        return (await self.answer(cached, request)).to_json()

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
        await self.sync(resolved, target, node)

    async def cache_purge(self, filters_json: str) -> None:
        """``PsCachePurge``: delete the matching items; their nodes are synchronised again.

        :raises InvalidArgument: unknown key or malformed value.
        """
        filters = parse_json_object(filters_json, "filters_json", PURGE_KEYS)
        purge_filters = PurgeFilters(
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


def _keep_changed(event: PubsubEvent, outcome: ChangeOutcome) -> None:
    """Leave in ``event`` only what its (committed) change did: the changed or new items
    (items without id are never stored: kept), the retracts of stored ids, the items a
    lowered ``max_items`` dropped; nothing left makes it a no-op (no ``PsEvent``)."""
    if event.event_type == "items":
        changed = iter(outcome.changed)  # one flag per item with an id, in order (_change)
        event.items = [element for element in event.items
                       if not element.getAttribute("id") or next(changed, True)]
        event.no_op = not event.items
    elif event.event_type == "retract":
        changed = iter(outcome.changed)  # one flag per retracted id, in order
        event.retracted = [name for name in event.retracted if next(changed, True)]
        event.no_op = not event.retracted
    event.retracted.extend(outcome.dropped)  # a lowered max_items: the service dropped them too


def _parse_item(xml: str) -> domish.Element | None:
    """An item as ``domish`` for parsers, or None when it is not safe, well-formed XML
    (it is then kept raw only)."""
    try:
        return to_domish(check_xml(xml, "item"))
    except InvalidArgument as exc:
        log.warning("unparsable pubsub item kept raw: %s", exc)
        return None


def _item_id(xml: str) -> str:
    """The id of an item refused whole (over the size limit…), from its start tag alone, so
    that it is still stored under its id (a sync checks every listed id). Items come
    serialised by ``domish``, which escapes ``>`` in attributes: the first one ends the tag."""
    head = xml[:xml.find(">")].rstrip("/")
    try:
        return str(parse_untrusted(f"{head}/>".encode()).get("id") or "")
    except (etree.XMLSyntaxError, ValueError):
        return ""


def _payload_namespace(item_xml: str) -> str | None:
    element = _parse_item(item_xml)
    if element is None:
        return None
    for child in element.elements():
        return str(child.uri) if child.uri else None
    return None

