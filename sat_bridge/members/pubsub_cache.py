"""Members of the pubsub cache plugin, on the plugin interface; names from the contract."""

from __future__ import annotations

from sat_bridge.members.core import PROFILE
from sat_bridge.members.pubsub import NODE, SERVICE
from sat_bridge.spec import Arg, Member, Method, Signal

PUBSUB_CACHE_MEMBERS: tuple[Member, ...] = (
    Method("PsCacheGet", "plugin",
           (SERVICE, NODE, Arg("max_items", "i", "0 = all"), Arg("item_ids", "as", "only these (empty = all)"),
            Arg("sub_id", "s", "ignored (kept for the PsItemsGet shape)"),
            Arg("extra_json", "s", "as PsItemsGet: rsm_max/after/before/index, order_by"), PROFILE),
           "s", "As ``PsItemsGet``, from the database only; ``NotFound`` if the node is not cached."),
    Method("PsCacheSync", "plugin", (SERVICE, NODE, PROFILE), "",
           "(Re)synchronise the node now: subscribe, fetch every item; returns when done."),
    Signal("PsCacheSyncProgress", "plugin",
           (SERVICE, NODE, Arg("received", "i", "items fetched so far"),
            Arg("total", "i", "items the node has (0 = unknown)"), PROFILE),
           "Progress of a node's synchronisation: after the item ids are listed (0 of total), then after "
           "each fetched batch; the last one of a successful sync has received == total."),
    Method("PsCachePurge", "plugin",
           (Arg("filters_json", "s",
                "JSON object; every key optional, all given must match: ``services``, ``nodes``, ``types``, "
                "``subtypes``, ``profiles`` (lists of strings), ``created_before``, ``updated_before`` "
                "(timestamps)"),),
           "", "Delete cached items; the nodes they belonged to are synchronised again before being served."),
    Method("PsCacheReset", "plugin", (), "", "Drop every cached node and item."),
)
