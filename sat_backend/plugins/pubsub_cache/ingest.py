"""Notifications of cached nodes: applied in one transaction per batch, and what each
``PsEvent`` then says (:class:`~sat_backend.plugins.plugin_xep_0060.EventOutcome`,
returned to the pubsub plugin, which emits after the commit).

Each item is read once here (:class:`~sat_backend.core.received_item.ReceivedItem`):
the same object is stored and signalled. A notification of a node being synchronised
is held by the sync and applied over its snapshot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sat_backend.core.received_item import ReceivedItem
from sat_backend.core.lazy_import import lazy_module
from sat_backend.memory.pubsub_cache_values import ITEM_ID_LENGTH, CachedNode, SyncState, too_long_item_id
from sat_backend.plugins.plugin_xep_0060 import EventOutcome, PubsubEvent
from sat_backend.plugins.pubsub_cache.analysers import Analysers, parser_of
from sat_backend.plugins.pubsub_cache.node_sync import NodeSync

if TYPE_CHECKING:
    from sat_backend.memory import pubsub_cache_storage
    from sat_backend.memory.pubsub_cache_storage import ChangeOutcome, NodeChange, PubsubCacheStorage
else:  # builds Core statements at import (SQLAlchemy): imported by the first notification
    pubsub_cache_storage = lazy_module("sat_backend.memory.pubsub_cache_storage")

log = logging.getLogger(__name__)


class Ingest:
    """The pubsub plugin's event listener for the cache."""

    def __init__(self, storage: PubsubCacheStorage, analysers: Analysers, node_sync: NodeSync) -> None:
        self.storage = storage
        self.analysers = analysers
        self.node_sync = node_sync

    async def on_events(self, events: list[PubsubEvent]) -> list[EventOutcome | None]:
        """A batch of notifications of one profile: the changes of cached nodes in one
        transaction; returns what the pubsub plugin's ``PsEvent`` must say of each (it
        emits them after we return).

        What changes nothing in a cached node is not signalled: an item already stored
        with the same content (Prosody 0.12 notifies a contact's post twice once we are
        subscribed: bare JID for the subscription, full JID for ``+notify``), a retract
        of an id the node does not have. The node is complete, so nothing the frontends
        got from us is missed; nodes not cached have nothing to compare: all signalled."""
        async with self.node_sync.ingest_lock(events[0].client.profile):
            return await self._ingest(events)

    async def _ingest(self, events: list[PubsubEvent]) -> list[EventOutcome | None]:
        outcomes: list[EventOutcome | None] = [None] * len(events)
        nodes = await self.storage.get_nodes(events[0].client.profile,
                                             {(event.service.full(), event.node) for event in events})
        changes: list[tuple[NodeChange, int, tuple[ReceivedItem, ...]]] = []
        for index, event in enumerate(events):
            key = (event.service.full(), event.node)
            node = nodes.get(key)
            syncing = node is not None and node.id in self.node_sync.held
            if node is None or not (syncing or node.sync_state == SyncState.COMPLETED):
                continue
            category = node.type or "generic"
            outcomes[index] = EventOutcome(category)
            try:
                change, received = self._change(node, event)
            except Exception:  # noqa: BLE001 - one bad notification must not cost the batch
                log.exception("%s: a %s notification of cached node %s could not be read; it will be "
                              "synchronised again", event.client.profile, event.event_type, event.node)
                if syncing:
                    self.node_sync.unreadable.add(node.id)  # the sync must not complete it either
                await self.storage.set_state(node.id, None)  # never served with a change missing
                del nodes[key]  # its later events: not cached any more
                continue
            if received:
                outcomes[index] = EventOutcome(category, items=received)
            if change is None:
                continue
            if syncing:
                self.node_sync.held[node.id].append(change)  # applied over the sync's snapshot at its end
            else:
                changes.append((change, index, received))
            if event.event_type == "delete":
                del nodes[key]  # later events of the batch: not cached
        if changes:
            applied = await self._apply(events[0].client.profile, [change for change, _, _ in changes], len(events))
            for (_, index, received), outcome in zip(changes, applied):
                outcomes[index] = event_outcome(events[index], node_category(outcomes[index]), received, outcome)
        return outcomes

    def _change(self, node: CachedNode, event: PubsubEvent) -> tuple[NodeChange | None, tuple[ReceivedItem, ...]]:
        """The change a notification makes to a cached node, and its items read once
        (items without id too: signalled, never stored)."""
        if event.event_type == "items":
            parser = parser_of(self.analysers.of(node))
            received = tuple(ReceivedItem.from_element(element, *parser) if element.getAttribute("id")
                             else ReceivedItem.from_element(element) for element in event.items)
            if too_long_item_id([item.id for item in received]):  # the sync will stop caching the node
                raise ValueError(f"an item id longer than {ITEM_ID_LENGTH} characters")
            if any(not item.id for item in received):
                log.warning("%s: item without id in a notification of %s: not cached",
                            event.client.profile, event.node)
            return pubsub_cache_storage.NodeChange(node.id, "items", items=tuple(item for item in received if item.id)), received
        if event.event_type == "retract":
            return pubsub_cache_storage.NodeChange(node.id, "retract", names=tuple(event.retracted)), ()
        if event.event_type in ("purge", "delete"):
            return pubsub_cache_storage.NodeChange(node.id, event.event_type), ()
        if event.event_type == "config":
            return pubsub_cache_storage.NodeChange(node.id, "config", config=event.config or {}), ()
        return None, ()

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
                outcomes.append(pubsub_cache_storage.ChangeOutcome.applied(change))
                try:
                    await self.storage.set_state(change.node_id, None)
                except Exception:  # noqa: BLE001 - the batch's other changes are still applied
                    log.exception("%s: cached node #%d could not be set back to not analysed", profile,
                                  change.node_id)
        return outcomes


def node_category(outcome: EventOutcome | None) -> str:
    return outcome.category if outcome is not None else "generic"


def event_outcome(event: PubsubEvent, category: str, received: tuple[ReceivedItem, ...],
                  outcome: ChangeOutcome) -> EventOutcome:
    """What to signal of ``event`` once its (committed) change did ``outcome``: the changed
    or new items (items without id are never stored: kept), the retracts of stored ids,
    the items a lowered ``max_items`` dropped; nothing left makes it a no-op (no ``PsEvent``)."""
    changed = iter(outcome.changed)  # one flag per item with an id / per retracted id, in order
    if event.event_type == "items":
        items = tuple(item for item in received if not item.id or next(changed, True))
        return EventOutcome(category, items=items, retracted=tuple(outcome.dropped), no_op=not items)
    if event.event_type == "retract":
        kept = tuple(name for name in event.retracted if next(changed, True))
        return EventOutcome(category, retracted=kept + tuple(outcome.dropped), no_op=not kept)
    return EventOutcome(category, retracted=tuple(event.retracted) + tuple(outcome.dropped))
