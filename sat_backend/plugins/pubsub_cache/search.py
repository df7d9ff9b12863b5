"""``PsCacheSearch``, the search member of the pubsub cache (registered by
``plugin_pubsub_cache``): the query is validated and run by
:mod:`sat_backend.memory.pubsub_search`; here its hits become the bridge's JSON."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from sat_backend.memory.sqla import Storage

if TYPE_CHECKING:
    from sat_backend.memory.pubsub_search import SearchHit

log = logging.getLogger(__name__)


class CacheSearch:
    """The bridge implementation, bound to the backend's storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def __call__(self, query_json: str) -> str:
        """:raises InvalidArgument: unknown key or operator, malformed value or fts query."""
        # the search engine (its query model, filters, fts terms) loads at the first search
        from sat_backend.memory.pubsub_search import SearchQuery, search

        query = SearchQuery.from_json(query_json)
        hits = await search(self.storage, query)
        log.debug("pubsub cache search: %d result(s)", len(hits))
        return json.dumps([hit_json(hit, query.with_payload) for hit in hits], ensure_ascii=False)


def hit_json(hit: SearchHit, with_payload: bool) -> dict[str, Any]:
    """A result as the bridge gives it: the item's parsed data plus where it comes from
    (and its raw XML as ``item_payload`` when asked for)."""
    result = dict(hit.parsed or {})
    result.update(pubsub_service=hit.service, pubsub_node=hit.node, pubsub_item_id=hit.item_id,
                  node_profile=hit.profile)
    if with_payload:
        result["item_payload"] = hit.payload
    return result
