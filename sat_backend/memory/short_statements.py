"""The Core SQL of storage's short calls (params, private values, one message of
history), built once at import with bound parameters.

Built once, a statement is compiled once and its cache key is memoised on it: a call
costs the execution only, not the ORM's unit of work nor the building of a ``select``
(tens of µs each, more than the statement itself on SQLite). Only
:mod:`sat_backend.memory.sqla` executes them.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from sqlalchemy import Delete, Insert, Select, Table, bindparam, delete, select, update

from sat_backend.memory.pubsub_cache_values import SyncState
from sat_backend.memory.tables import (
    history,
    messages,
    params_general,
    params_individual,
    private_general,
    private_individual,
    profiles,
    pubsub_nodes,
    subjects,
)

#: the key columns of each value table, beside ``profile_id`` for the individual ones
_KEYS = {
    params_general: ("category", "name"),
    params_individual: ("category", "name"),
    private_general: ("namespace", "key"),
    private_individual: ("namespace", "key"),
}


def _where_key(table: Table) -> list[Any]:
    columns = [*_KEYS[table], *(["profile_id"] if "profile_id" in table.c else [])]
    return [table.c[name] == bindparam(name) for name in columns]


def _read_value(table: Table) -> Select[Any]:
    return select(table.c.value).where(*_where_key(table))


def _delete_value(table: Table) -> Delete:
    return delete(table).where(*_where_key(table))


def dialect_insert(table: Table, dialect: str) -> Any:
    """The ``INSERT`` of ``dialect`` ("sqlite" or "postgresql": both speak ``ON CONFLICT``),
    its module imported on first use (a start on SQLite never loads PostgreSQL's)."""
    return importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert(table)


@cache
def upsert_value(table: Table, dialect: str) -> Insert:
    """Insert or replace the value of a key (a value table of :data:`READ_VALUE`)."""
    keys = [*_KEYS[table], *(["profile_id"] if "profile_id" in table.c else [])]
    statement = dialect_insert(table, dialect)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=keys, set_={"value": statement.excluded.value}
    )


@cache
def insert_history(dialect: str) -> Insert:
    """Insert a message; one whose id or (stanza-id, sender) is stored already is left as it is."""
    return dialect_insert(history, dialect).on_conflict_do_nothing()  # type: ignore[no-any-return]


PROFILE_ID = select(profiles.c.id).where(profiles.c.name == bindparam("name"))
PROFILE = select(profiles.c.id, profiles.c.name, profiles.c.created).where(profiles.c.name == bindparam("name"))
#: every profile's name, oldest first (a user has a handful)
PROFILE_NAMES = select(profiles.c.name).order_by(profiles.c.created, profiles.c.id)

READ_VALUE = {table: _read_value(table) for table in _KEYS}
DELETE_VALUE = {table: _delete_value(table) for table in _KEYS}
PROFILE_PARAMS = select(params_individual.c.category, params_individual.c.name, params_individual.c.value).where(
    params_individual.c.profile_id == bindparam("profile_id"), params_individual.c.value.is_not(None)
)

#: a message of this sender with this XEP-0359 origin-id, and its archive stanza-id
KNOWN_BY_ORIGIN_ID = select(history.c.id, history.c.stanza_id).where(
    history.c.profile_id == bindparam("profile_id"),
    history.c.source == bindparam("source"),
    history.c.origin_id == bindparam("origin_id"),
)
SET_STANZA_ID = update(history).where(history.c.id == bindparam("known_id")).values(
    stanza_id=bindparam("new_stanza_id")
)
INSERT_MESSAGES = messages.insert()
INSERT_SUBJECTS = subjects.insert()
DELETE_HISTORY = delete(history).where(
    history.c.profile_id == bindparam("profile_id"), history.c.id == bindparam("uid")
)

#: the columns :class:`~sat_backend.memory.pubsub_cache_values.CachedNode` is read from:
#: the table's, so that a statement of them needs no ORM mapper (a start reads the nodes
#: left mid-sync before its name is owned)
NODE_COLUMNS = tuple(pubsub_nodes.c[name] for name in (
    "id", "service", "name", "sync_state", "sync_state_updated", "subscribed", "analyser", "type", "subtype", "extra"))
#: the nodes a stop left mid-sync, which a start reads
NODES_MID_SYNC = select(*NODE_COLUMNS).where(pubsub_nodes.c.sync_state == SyncState.IN_PROGRESS)
