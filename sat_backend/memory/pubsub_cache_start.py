"""The pubsub cache's read at start, without SQLAlchemy: the nodes a stop left mid-sync.

:class:`~.pubsub_cache_storage.PubsubCacheStorage` builds Core statements at import; a
start only needs this one read (doc/developer.rst, start), as plain SQL on an SQLite
file (:data:`.start_sql.NODES_MID_SYNC`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sat_backend.memory import start_sql
from sat_backend.memory.pubsub_cache_values import CachedNode

if TYPE_CHECKING:
    from sat_backend.memory.sqla import Storage


async def nodes_mid_sync(storage: Storage) -> list[CachedNode]:
    """The nodes a stop left mid-sync. Read by a start before its bus name is owned, so
    on the short path (:meth:`Storage.read_rows`): a session would make the async engine
    and import the ORM first (~80 ms). The whole start waits for this read anyway; the
    nodes table is small beside the items'."""
    return [CachedNode.from_columns(row) for row in await storage.read_rows(start_sql.NODES_MID_SYNC, {})]


__all__ = ["nodes_mid_sync"]
