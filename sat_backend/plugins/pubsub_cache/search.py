"""``PsCacheSearch``, the search member of the pubsub cache (registered by
``plugin_pubsub_cache``): the query is validated and run by
:mod:`sat_backend.memory.pubsub_search`; here it only crosses the bridge as JSON."""

from __future__ import annotations

import json
import logging

from sat_backend.memory.pubsub_search import SearchQuery, search
from sat_backend.memory.sqla import Storage

log = logging.getLogger(__name__)


class CacheSearch:
    """The bridge implementation, bound to the backend's storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def __call__(self, query_json: str) -> str:
        """:raises InvalidArgument: unknown key or operator, malformed value or fts query."""
        query = SearchQuery.from_json(query_json)
        results = await search(self.storage, query)
        log.debug("pubsub cache search: %d result(s)", len(results))
        return json.dumps(results, ensure_ascii=False)
