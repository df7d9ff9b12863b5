"""What the pubsub cache's storage hands out: typed, frozen values, never ORM rows.

A node's row keeps its sync bookkeeping (failures, last error, parser version, the
node's configuration) in one JSON column; readers get them here as real fields, so the
cache plugin neither knows the column nor holds a row bound to a session
(:mod:`sat_backend.memory.pubsub_cache_storage` converts at its boundary).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class SyncState(enum.Enum):
    """Where a cached pubsub node stands (see doc/developer.rst, pubsub cache)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ERROR = "error"
    NO_SYNC = "no_sync"


#: the width of ``pubsub_items.name``: PostgreSQL refuses a longer item id, so a node
#: with one is not cached (its reads go to the service), on either database
ITEM_ID_LENGTH = 1024


def too_long_item_id(item_ids: Iterable[str]) -> bool:
    """Whether one of ``item_ids`` is longer than the cache can store."""
    return any(len(item_id) > ITEM_ID_LENGTH for item_id in item_ids)


#: keys of ``pubsub_nodes.extra`` behind :class:`CachedNode`'s fields
CONFIG_KEY = "config"
FAILURES_KEY = "failures"
ERROR_KEY = "error"
PARSER_VERSION_KEY = "parser_version"


@dataclass(frozen=True, slots=True)
class CachedNode:
    """A pubsub node known to the cache; ``sync_state`` None means not analysed yet."""

    id: int
    service: str
    name: str
    sync_state: SyncState | None = None
    #: when ``sync_state`` was last set (epoch seconds): the retry delay counts from it
    sync_state_updated: float = 0.0
    subscribed: bool = False
    #: name of the analyser that matched (None: none, or not analysed)
    analyser: str | None = None
    type: str | None = None
    subtype: str | None = None
    #: the node's configuration, as its last ``config`` notification gave it
    config: dict[str, Any] | None = None
    #: syncs failed in a row (``error`` state): the retry delay doubles with each
    failures: int = 0
    #: why the last sync failed
    error: str | None = None
    #: version of the analyser's parser the items' parsed data comes from (None: no parser)
    parser_version: int | None = None

    @classmethod
    def from_columns(cls, columns: Any) -> CachedNode:
        """From a row of ``pubsub_nodes`` (an ORM object or a Core row: same attribute names)."""
        extra: dict[str, Any] = columns.extra or {}
        version = extra.get(PARSER_VERSION_KEY)
        return cls(
            id=columns.id, service=columns.service, name=columns.name, sync_state=columns.sync_state,
            sync_state_updated=columns.sync_state_updated or 0.0, subscribed=bool(columns.subscribed),
            analyser=columns.analyser, type=columns.type, subtype=columns.subtype,
            config=extra.get(CONFIG_KEY), failures=int(extra.get(FAILURES_KEY, 0) or 0),
            error=extra.get(ERROR_KEY), parser_version=None if version is None else int(version),
        )


@dataclass(frozen=True, slots=True)
class CachedItem:
    """A cached item: its id, raw XML (always kept), parsed data (if a parser made some)
    and when it was stored and last changed."""

    name: str
    data: str
    parsed: dict[str, Any] | None
    created: float
    updated: float
