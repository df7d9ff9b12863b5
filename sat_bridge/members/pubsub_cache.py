"""Members of the pubsub cache plugin, on the plugin interface; names from the contract."""

from __future__ import annotations

from sat_bridge.members.core import IDENTIFIER_LENGTH, PROFILE
from sat_bridge.members.pubsub import NODE, SERVICE
from sat_bridge.spec import Arg, Member, Method, Signal

PUBSUB_CACHE_MEMBERS: tuple[Member, ...] = (
    Method("PsCacheGet", "plugin",
           (SERVICE, NODE, Arg("max_items", "i", "0 = all"), Arg("item_ids", "as", "only these (empty = all)", max_length=IDENTIFIER_LENGTH),
            Arg("sub_id", "s", "ignored (kept for the PsItemsGet shape)", max_length=IDENTIFIER_LENGTH),
            Arg("extra_json", "s", "as PsItemsGet: rsm_max/after/before/index, order_by"), PROFILE),
           "s", "As ``PsItemsGet``, from the database only; ``NotFound`` if the node is not cached."),
    Method("PsCacheSync", "plugin", (SERVICE, NODE, PROFILE), "",
           "(Re)synchronise the node now: subscribe, fetch every item; returns when done."),
    Signal("PsCacheSyncProgress", "plugin",
           (SERVICE, NODE, Arg("received", "i", "items fetched so far"),
            Arg("total", "i", "items the node has (0 = unknown)"), PROFILE),
           "Progress of a node's synchronisation: after the item ids are listed (0 of total), then after "
           "each fetched batch; received == total only once the node is stored and served from the cache."),
    Method("PsCachePurge", "plugin",
           (Arg("filters_json", "s",
                "JSON object; every key optional, all given must match: ``services``, ``nodes``, ``types``, "
                "``subtypes``, ``profiles`` (lists of strings), ``created_before``, ``updated_before`` "
                "(timestamps)"),),
           "", "Delete cached items; the nodes they belonged to are synchronised again before being served."),
    Method("PsCacheReset", "plugin", (), "", "Drop every cached node and item."),
    Method("PsCacheSearch", "plugin",
           (Arg("query_json", "s",
                "JSON object, every key optional: ``fts`` (words, ``\"a phrase\"``, ``word*``, ``-word``, "
                "``a OR b``); ``profiles``, ``services``, ``nodes``, ``types``, ``subtypes``, ``names`` (lists of "
                "strings); ``parsed`` (list of ``{\"path\": [key or index…], \"op\": OP, \"value\": …}``, OP one "
                "of ``==`` ``!=`` ``>`` ``>=`` ``<`` ``<=`` ``between`` ``in`` ``not_in`` ``like`` ``ilike`` "
                "``overlap`` ``disjoint``); ``order-by`` (list of ``{\"order\": "
                "\"creation\"|\"modification\"|\"item_id\"|\"rank\"}`` or ``{\"path\": […]}``, with "
                "``\"direction\": \"asc\"|\"desc\"``); ``index`` (default 0), ``limit`` (1–1000, default 100); "
                "``with_payload`` (bool)"),),
           "s",
           "Search the cached items; unknown keys or operators and malformed values are ``InvalidArgument``.",
           out_doc="JSON list; each result is the item's parsed data plus ``pubsub_service``, ``pubsub_node``, "
                   "``pubsub_item_id``, ``node_profile`` (and ``item_payload``, the raw XML, with "
                   "``with_payload``)"),
)
