"""The pubsub cache's check on (re)connection: repair what was missed while offline.

Notifications keep a synchronised node fresh only while the profile is online (and
subscribed). Each time a profile's stream opens, in the background (``Connect`` is not
slowed, as the XEP-0313 catch-up), every ``completed`` node of the profile is compared
with its service: the item ids (disco#items on the node, as a sync lists them) and the
payloads of the newest items. The difference goes through the pubsub plugin's event
queue as if notified (new or changed items as ``items``, vanished ones as ``retract``, a
node the service no longer has as ``delete``), so the cache applies it in one
transaction and ``PsEvent`` follows the commit, in order with live notifications. A lost
subscription (another device unsubscribed, the service forgot it) is made again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import NotFound
from sat_backend.core.domish_serializer import element_xml
from sat_backend.core.xml_payloads import item_payload
from sat_backend.memory.pubsub_cache_values import CachedNode, SyncState
from sat_backend.plugins.plugin_xep_0060 import PubsubEvent
from sat_backend.plugins.pubsub_cache.node_sync import NodeSync
from sat_backend.plugins.pubsub_owner import subscriptions_from
from sat_backend.plugins.tx_xmpp_modules import pubsub as tx_pubsub

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.pubsub_cache.reconnect_handler import ReconnectHandler

log = logging.getLogger(__name__)

#: newest items whose payload is compared with the cache (catches in-place updates)
NEWEST_CHECKED = 20
#: item ids fetched per request when items are missing
FETCH_BATCH = 100


class ReconnectCheck:
    """The check itself, shared by the profiles' handlers."""

    def __init__(self, node_sync: NodeSync) -> None:
        self.node_sync = node_sync
        self.storage = node_sync.storage
        self.pubsub = node_sync.pubsub
        self.host = node_sync.host

    def make_handler(self, client: XmppClient) -> ReconnectHandler:
        """The handler that starts the check on ``client``'s stream."""
        from sat_backend.plugins.pubsub_cache.reconnect_handler import ReconnectHandler  # issue 14: at the first connection

        return ReconnectHandler(self, client)

    async def check_profile(self, client: XmppClient) -> None:
        """Every synchronised node of the profile, one after the other; a failure costs
        only its node (logged: it is checked again at the next connection)."""
        if not self.host.config.pubsub_cache:
            return  # turned off in sat.conf: nothing is served from it
        nodes = await self.storage.nodes(SyncState.COMPLETED, client.profile)
        if not nodes:
            return
        limit = int(await self.host.params.get_public("Pubsub", "CacheMaxItems", client.profile))
        repaired = 0
        for node in nodes:
            if not client.is_connected:
                return
            try:
                repaired += await self.check_node(client, node, limit)
            except Exception as exc:  # noqa: BLE001 - the other nodes are still checked
                log.warning("%s: checking cached node %s of %s failed: %s", client.profile, node.name,
                            node.service, exc)
        log.info("%s: %d cached node(s) checked after connection, %d repaired", client.profile, len(nodes), repaired)

    async def check_node(self, client: XmppClient, node: CachedNode, limit: int) -> bool:
        """Compare one node with its service and queue the difference; True if any. A node
        now larger than ``limit`` (``Pubsub/CacheMaxItems``) is no longer cached.

        Each part of the difference is queued right after the answer it comes from, with no
        await between: a notification the service sends after that answer reaches the same
        queue after it (one stream, in order), so a live change is never undone by an older
        copy of the check's. Subscribed before listing, as a sync is: an item published
        after the listing is notified.
        """
        service = JID(node.service)
        # read the cache before listing: an item notified meanwhile is then never taken
        # for one the service dropped
        cached = await self.storage.item_data(node.id)
        try:
            await self.ensure_subscribed(client, service, node.name)
            ids = await self.node_sync.list_item_ids(client, service, node.name)
        except NotFound:
            log.info("%s: cached node %s of %s is gone from the service", client.profile, node.name, node.service)
            self.pubsub.queue_event(PubsubEvent(client, service, node.name, "delete"))
            return True
        if len(ids) > limit:
            log.info("%s: node %s now has %d items, more than %d: no longer cached", client.profile, node.name,
                     len(ids), limit)
            # under the ingest lock: a notification being applied (e.g. the last item a
            # service such as ejabberd sends again on subscription) must not land after
            async with self.node_sync.ingest_lock(client.profile):
                await self.storage.stop_caching(node.id)
            return True
        listed = set(ids)
        removed = [name for name in cached if name not in listed]
        if removed:
            self.pubsub.queue_event(PubsubEvent(client, service, node.name, "retract", retracted=removed))
        new = {name for name in ids if name not in cached}
        # the newest items, oldest first (as a sync gets the whole node); new items older
        # than these (rare) are fetched by id and queued before them, then the newest are
        # asked again (what they were is older than these fetches)
        newest = await self._fetch(client, service, node.name, [], NEWEST_CHECKED)
        have = {str(element.getAttribute("id")) for element in newest}
        missing = [name for name in ids if name in new and name not in have]
        repaired = 0
        for start in range(0, len(missing), FETCH_BATCH):
            older = [element for element in
                     await self._fetch(client, service, node.name, missing[start:start + FETCH_BATCH])
                     if element.getAttribute("id") in new]
            repaired += self._queue_items(client, service, node.name, older)
        if missing:
            newest = await self._fetch(client, service, node.name, [], NEWEST_CHECKED)
        repaired += self._queue_items(client, service, node.name, [
            element for element in newest
            if element.getAttribute("id") in new
            or (element.getAttribute("id") in cached
                and item_payload(element_xml(element)) != item_payload(cached[str(element["id"])]))
        ])
        if repaired or removed:
            log.info("%s: node %s missed %d new or changed and %d retracted item(s) while offline",
                     client.profile, node.name, repaired, len(removed))
        return bool(repaired or removed)

    def _queue_items(self, client: XmppClient, service: JID, node_name: str, items: list[Any]) -> int:
        if items:
            self.pubsub.queue_event(PubsubEvent(client, service, node_name, "items", items=items))
        return len(items)

    async def ensure_subscribed(self, client: XmppClient, service: JID, node_name: str) -> None:
        """Subscribe again unless the service lists our bare JID as subscribed (XEP-0060
        §5.6); a service that cannot list subscriptions gets a subscribe, which is
        idempotent for a JID already subscribed."""
        own = JID(client.jid.userhost())
        try:
            answer = await self.pubsub.request("subscriptions", service.full(), node_name, client.profile,
                                               "our subscriptions to")
            subscribed = any(
                JID(entry["jid"]).userhostJID() == own and entry["subscription"] == "subscribed"
                and entry["node"] == node_name
                for entry in subscriptions_from(answer, tx_pubsub.NS_PUBSUB, node_name)
            )
        except Exception as exc:  # noqa: BLE001 - cannot tell: subscribe
            log.info("%s: subscriptions to %s not listed (%s)", client.profile, node_name, exc)
            subscribed = False
        if not subscribed:
            log.info("%s: subscription to cached node %s was lost: subscribing again", client.profile, node_name)
            await self.node_sync.subscribe(client, service, node_name)

    async def _fetch(self, client: XmppClient, service: JID, node_name: str, item_ids: list[str],
                     max_items: int = 0) -> list[Any]:
        xml_items = await self.node_sync.fetch_from_service(client, service, node_name, item_ids, max_items)
        from tx_xmpp.generic import parseXml  # with Twisted's XML stream: a stream is open

        return [parseXml(xml.encode("utf-8")) for xml in xml_items]
