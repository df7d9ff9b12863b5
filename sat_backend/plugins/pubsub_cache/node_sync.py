"""Synchronising a node of the pubsub cache: its in-progress state and its retries.

A sync subscribes to the node first (notifications that arrive while it runs are held,
then applied over its snapshot before it ends, so none is missed), lists every item id
(disco#items on the node: Prosody 0.12 ignores RSM on items), fetches them by batches of
ids, and marks the node ``completed`` only when all of them are stored. A node larger
than the limit is ``no_sync`` (never served half). A failure marks it ``error``; it is
tried again later, with a growing delay; a sync cut short by the end of the session
leaves the node ``in_progress``, not in error. At start, nodes left ``in_progress`` by a
stop mid-sync are reset (:meth:`NodeSync.reset_interrupted`); while running, a read of
a node ``in_progress`` with no sync running starts one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import Network, ProfileNotConnected
from sat_backend.core.im.background import run_in_background
from sat_backend.core.received_item import ReceivedItem
from sat_backend.memory.pubsub_cache_start import nodes_mid_sync
from sat_backend.memory.pubsub_cache_values import ITEM_ID_LENGTH, CachedNode, SyncState, too_long_item_id
from sat_backend.plugins.plugin_xep_0030 import items_of
from sat_backend.plugins.plugin_xep_0060 import ItemsRequest
from sat_backend.plugins.pubsub_cache.analysers import Analyser, Analysers

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.memory.pubsub_cache_storage import NodeChange, PubsubCacheStorage

log = logging.getLogger(__name__)

#: items fetched per request during a sync
SYNC_BATCH = 100
#: first retry delay of a node in ``error``; doubles up to a day
RETRY_BASE_DELAY = 60.0
RETRY_MAX_DELAY = 86_400.0


class NodeSync:
    """Runs syncs (one at a time per node) and owns what they share with the ingest."""

    def __init__(self, host: Backend, storage: PubsubCacheStorage, analysers: Analysers) -> None:
        self.host = host
        self.pubsub = host.plugins["XEP-0060"]
        self.storage = storage
        self.analysers = analysers
        self.syncing: dict[int, asyncio.Task[None]] = {}
        #: changes notified for a node while it is being synchronised, applied over the
        #: sync's snapshot before the node is ``completed`` (else an item published between
        #: the fetch and the end of the sync would be signalled but never stored)
        self.held: dict[int, list[NodeChange]] = {}
        #: nodes of which a notification could not be read while they were being
        #: synchronised: its change can never be applied over the sync's snapshot, so the
        #: sync must leave the node to be synchronised again, not mark it ``completed``
        self.unreadable: set[int] = set()
        #: per profile: notifications are applied, or a sync ends, one at a time
        self._ingest_locks: dict[str, asyncio.Lock] = {}

    def ingest_lock(self, profile: str) -> asyncio.Lock:
        return self._ingest_locks.setdefault(profile, asyncio.Lock())

    async def reset_interrupted(self) -> None:
        """Nodes a stop left mid-sync: back to "not analysed", synchronised on their next read."""
        for node in await nodes_mid_sync(self.host.storage):  # without the cache's storage module
            log.info("node %s of %s was left mid-sync: it will be synchronised again", node.name, node.service)
            await self.storage.set_state(node.id, None)

    def retry_due(self, node: CachedNode) -> bool:
        failures = max(1, node.failures)
        delay = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2 ** (failures - 1))
        return time.time() - node.sync_state_updated >= delay

    def start(self, profile: str, service: JID, node_name: str) -> None:
        run_in_background(self.sync(profile, service, node_name), f"{profile}: sync of {node_name}", profile)

    async def sync(self, profile: str, service: JID, node_name: str) -> CachedNode:
        """Synchronise a node now (one sync at a time per node); returns the node row."""
        node = await self.storage.ensure_node(profile, service.full(), node_name)
        running = self.syncing.get(node.id)
        if running is None:
            running = asyncio.ensure_future(self._sync(profile, service, node))
            self.syncing[node.id] = running
            running.add_done_callback(lambda _: self.syncing.pop(node.id, None))
        await asyncio.shield(running)
        return node

    async def _sync(self, profile: str, service: JID, node: CachedNode) -> None:
        self.held[node.id] = []  # before subscribing: every notification from now on is kept
        try:
            await self._synchronise(profile, service, node)
        finally:
            self.held.pop(node.id, None)
            self.unreadable.discard(node.id)

    async def _synchronise(self, profile: str, service: JID, node: CachedNode) -> None:
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
            analyser = self.analysers.of(node)
            items = await self._fetch_all(profile, client, service, node.name, ids, analyser)
            if too_long_item_id(item.id for item in items):  # every listed id among them
                log.info("%s: node %s has an item id longer than %d characters: not cached", profile,
                         node.name, ITEM_ID_LENGTH)
                await self.storage.stop_caching(node.id, subscribed=True)
                return
            # recorded with the node: its parsed data is served only by this version of the parser
            parser_version = analyser.parser_version if analyser is not None and analyser.parser is not None else None
            async with self.ingest_lock(profile):  # no notification is applied meanwhile
                if node.id in self.unreadable:
                    log.info("%s: a notification of %s could not be read during its sync: it will be "
                             "synchronised again", profile, node.name)
                    await self.storage.set_state(node.id, None)
                    return
                await self.storage.replace_items(node.id, items)
                held, self.held[node.id] = self.held[node.id], []
                if held:
                    log.info("%s: %d change(s) notified during the sync of %s applied", profile, len(held), node.name)
                    await self.storage.apply_changes(held)
                await self.storage.set_completed(node.id, parser_version)
            log.info("%s: node %s of %s cached (%d items)", profile, node.name, service.full(), len(items))
            self._progress(profile, service, node.name, len(ids), len(ids))  # the node can be read now
        except (ProfileNotConnected, Network) as exc:
            # the session ended (a stop, a lost connection): nothing is wrong with the node,
            # which stays "in progress" without a sync running: reset at the next start, or
            # synchronised again by the next read (no error, no backoff)
            log.info("%s: sync of %s interrupted (%s); it will be synchronised again", profile, node.name, exc)
            raise
        except Exception as exc:
            failures = await self.storage.set_failed(node.id, str(exc))
            log.warning("%s: sync of %s failed (%s, %d in a row); retry later", profile, node.name, exc, failures)
            raise

    async def _fetch_all(self, profile: str, client: XmppClient, service: JID, node_name: str, ids: list[str],
                         analyser: Analyser | None) -> list[ReceivedItem]:
        """Every listed item, oldest first.

        One plain request first: services without RSM on items (Prosody 0.12) return the
        whole node in publication order. Only if that misses listed items are they fetched
        by batches of ids (then in the listing's order, the service giving no other).
        """
        listed = set(ids)
        items: list[ReceivedItem] = []
        received: set[str] = set()  # names of ``items``, kept with them (not rebuilt per id)

        def add(xml_items: list[str]) -> None:
            new = [self.analysers.read_item(xml, analyser) for xml in xml_items]
            items.extend(new)
            received.update(item.id for item in new)
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
        """Every item id of the node, from disco#items on the node (XEP-0060 §5.5), asked
        through the XEP-0030 plugin."""
        disco = self.host.plugins["XEP-0030"]
        answer = await self.pubsub.ask(disco.send_items_query(client, service, node_name),
                                       f"listing the items of {node_name!r}")
        return [item.name for item in items_of(answer) if item.name]
