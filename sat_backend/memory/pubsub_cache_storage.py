"""Storage of the pubsub cache: nodes, items (raw XML + parsed JSON) and sync states.

Like :mod:`sat_backend.memory.sqla`, the only place where the cache's SQL lives; the
cache plugin calls these intent-named methods. Writes of a sync or of a burst of events
are one transaction each, in Core SQL on the hot path (no ORM unit of work): per batch
of notifications, one SELECT of the stored digests of the ids concerned, one DELETE of
what is retracted, one bulk upsert. A notified item whose payload digest
(:class:`~sat_backend.core.received_item.ReceivedItem`) is the stored one, or a retract of
an id not stored, changes nothing: not written, and said so (:class:`ChangeOutcome`), so
that the cache emits no ``PsEvent`` for it.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence, TypeVar

from sqlalchemy import Insert, Select, Table, bindparam, case, delete, func, null, select, update

from sat_backend.core.exceptions import NotFound
from sat_backend.core.received_item import ReceivedItem, digest_of
from sat_backend.core.result_set import PageRequest
from sat_backend.memory.pubsub_cache_answers import PageAnswers
from sat_backend.memory.pubsub_cache_order import NodeOrder, NodeOrders
from sat_backend.memory.pubsub_cache_pages import EncodedPage, NodePage, StoredPage, session_rows
from sat_backend.memory.pubsub_cache_values import (
    CONFIG_KEY,
    ERROR_KEY,
    FAILURES_KEY,
    PARSER_VERSION_KEY,
    CachedItem,
    CachedNode,
    SyncState,
)
from sat_backend.memory.short_statements import NODE_COLUMNS
from sat_backend.memory.tables import profiles
from sat_backend.memory.sqla import Storage
from sat_backend.memory.lazy_orm import orm
from sat_backend.memory.tables import pubsub_items, pubsub_nodes

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

#: ids per ``IN (…)`` (SQLite bounds the number of parameters of a statement)
IN_BATCH = 500
#: a page of up to this many rows is read on the loop's thread (SQLite), larger ones on the worker's
#: (PostgreSQL: every page by :meth:`Storage.read_rows`)
IN_LOOP_ROWS = 1000
ITEMS: Table = pubsub_items
NODES: Table = pubsub_nodes
#: a node by profile, service and name (built once: building it cost more than running it)
NODE_BY_NAME = select(*NODE_COLUMNS).join(profiles).where(
    profiles.c.name == bindparam("profile"), NODES.c.service == bindparam("service"),
    NODES.c.name == bindparam("name"))
#: the keys of a node's items in the cache's order (SQLite, read through the driver)
SQLITE_NODE_KEYS = "SELECT created, id FROM pubsub_items WHERE node_id = ? ORDER BY created, id"
PageT = TypeVar("PageT", StoredPage, EncodedPage)
#: what an upsert of a stored item rewrites (``created`` is kept)
UPSERT_COLUMNS = ("data", "parsed", "digest", "search_text", "updated")


@dataclass(frozen=True)
class NodeChange:
    """One change of a cached node, as a notification brings it.

    ``kind``: ``items`` (upsert ``items``), ``retract`` (delete ``names``), ``purge``,
    ``delete`` (the node) or ``config`` (store ``config`` in the node's ``extra``; a
    numeric ``pubsub#max_items`` lower than the cached count drops the oldest items, as
    the service does on such a change without notifying retractions).
    """

    node_id: int
    kind: str
    items: tuple[ReceivedItem, ...] = ()
    names: tuple[str, ...] = ()
    config: dict[str, Any] | None = None


@dataclass
class ChangeOutcome:
    """What one :class:`NodeChange` did.

    ``changed``: for ``items`` and ``retract``, one flag per entry of ``items``/``names``
    (False: already stored as it is, or a retract of an id not stored); empty for the
    other kinds, which always count as a change. ``dropped``: ids of the items a
    lowered ``max_items`` dropped (``config`` changes).
    """

    changed: list[bool] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @classmethod
    def applied(cls, change: NodeChange) -> ChangeOutcome:
        """Every entry counted as changed (a change whose effect is not known)."""
        return cls(changed=[True] * len(change.items or change.names))


@dataclass(frozen=True)
class PurgeFilters:
    """``PsCachePurge`` filters; every given one must match (empty lists match all)."""

    services: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    subtypes: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    created_before: float | None = None
    updated_before: float | None = None

    def conditions(self) -> list[Any]:
        """The WHERE conditions of the given filters (on items joined to nodes and profiles)."""
        conditions: list[Any] = []
        for values, column in ((self.services, orm.PubsubNode.service), (self.nodes, orm.PubsubNode.name),
                               (self.types, orm.PubsubNode.type), (self.subtypes, orm.PubsubNode.subtype),
                               (self.profiles, orm.Profile.name)):
            if values:
                conditions.append(column.in_(values))
        if self.created_before is not None:
            conditions.append(orm.PubsubItem.created < self.created_before)
        if self.updated_before is not None:
            conditions.append(orm.PubsubItem.updated < self.updated_before)
        return conditions


class PubsubCacheStorage:
    """The cache's queries, on the backend's :class:`Storage`."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        #: committed :meth:`apply_changes` transactions (batches of notifications)
        self.ingest_transactions = 0
        #: the order of the nodes read lately: every write to a node's items forgets it
        self.orders = NodeOrders()
        #: encoded pages of the nodes read lately: every write here is wrapped in
        #: :meth:`PageAnswers.writing` (of the nodes it writes, or of all of them)
        self.answers = PageAnswers()

    @asynccontextmanager
    async def _writing_session(self, node_ids: Collection[int] | None) -> AsyncIterator[AsyncSession]:
        """A session whose transaction writes ``node_ids`` (every node if None): their
        pages kept in memory are dropped, and none is kept, until it has ended."""
        with self.answers.writing(node_ids):
            async with self.storage.session() as session:
                yield session

    async def get_node(self, profile: str, service: str, name: str) -> CachedNode | None:
        """The node, None if it was never seen (one indexed look-up: on the loop's thread on SQLite)."""
        rows = await self.storage.read_rows(NODE_BY_NAME, {"profile": profile, "service": service, "name": name})
        return CachedNode.from_columns(rows[0]) if rows else None

    async def get_nodes(self, profile: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], CachedNode]:
        """The known nodes among ``(service, name)`` pairs of ``profile``, in one query."""
        if not keys:
            return {}
        services = {service for service, _ in keys}
        names = {name for _, name in keys}
        async with self.storage.reading() as connection:
            rows = await connection.execute(
                select(*NODE_COLUMNS).join(profiles).where(
                    profiles.c.name == profile, NODES.c.service.in_(services), NODES.c.name.in_(names)
                )
            )
            return {(row.service, row.name): CachedNode.from_columns(row) for row in rows
                    if (row.service, row.name) in keys}

    async def ensure_node(self, profile: str, service: str, name: str) -> CachedNode:
        """The node, created (not analysed) if it was never seen."""
        node = await self.get_node(profile, service, name)
        if node is not None:
            return node
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            row = orm.PubsubNode(profile_id=profile_id, service=service, name=name)
            session.add(row)
            await session.flush()
            created = CachedNode.from_columns(row)
        # SQLite gives a deleted node's id again: nothing kept of that one may be served,
        # nor kept by a read of it still in flight (the new node has no items until a write)
        self._changed_elsewhere([created.id])
        return created

    async def set_state(self, node_id: int, state: SyncState | None) -> None:
        """A node's sync state (None: not analysed) and when it was set."""
        async with self._writing_session([node_id]) as session:
            await session.execute(
                update(orm.PubsubNode).where(orm.PubsubNode.id == node_id)
                .values(sync_state=state, sync_state_updated=time.time())
            )

    async def set_analysed(self, node_id: int, state: SyncState | None, *, analyser: str | None,
                           type: str | None, subtype: str | None) -> None:
        """What analysing a node decided: its state (``no_sync``, or None until a sync),
        the analyser that matched and the kind of node it says this is."""
        async with self._writing_session([node_id]) as session:
            await session.execute(
                update(orm.PubsubNode).where(orm.PubsubNode.id == node_id)
                .values(sync_state=state, sync_state_updated=time.time(), analyser=analyser, type=type,
                        subtype=subtype)
            )

    async def set_completed(self, node_id: int, parser_version: int | None) -> None:
        """A sync's end: the node is ``completed`` and subscribed; earlier failures are
        forgotten, its configuration kept (read in this transaction: a ``config``
        notification applied during the sync is not undone)."""
        async with self._writing_session([node_id]) as session:
            await _set_extra(session, node_id, SyncState.COMPLETED, lambda extra: {
                **({CONFIG_KEY: extra[CONFIG_KEY]} if CONFIG_KEY in extra else {}),
                **({} if parser_version is None else {PARSER_VERSION_KEY: parser_version})},
                subscribed=True)

    async def set_failed(self, node_id: int, error: str) -> int:
        """A sync failed: the node is in ``error``, with one failure more (its configuration kept).

        :returns: the failures in a row, this one included.
        """
        failures = 0

        def failed(extra: dict[str, Any]) -> dict[str, Any]:
            nonlocal failures
            failures = int(extra.get(FAILURES_KEY, 0) or 0) + 1
            kept = {CONFIG_KEY: extra[CONFIG_KEY]} if CONFIG_KEY in extra else {}
            return {**kept, FAILURES_KEY: failures, ERROR_KEY: error}

        async with self._writing_session([node_id]) as session:
            await _set_extra(session, node_id, SyncState.ERROR, failed)
        return failures

    async def stop_caching(self, node_id: int, *, subscribed: bool | None = None) -> None:
        """A node no longer cached (``no_sync``) and its items dropped, in one
        transaction: a ``no_sync`` node is never served, so what it kept would only
        linger (found by searches, never purged by notifications)."""
        fields = {} if subscribed is None else {"subscribed": subscribed}
        async with self._writing_session([node_id]) as session:
            await session.execute(delete(orm.PubsubItem).where(orm.PubsubItem.node_id == node_id))
            await session.execute(
                update(orm.PubsubNode).where(orm.PubsubNode.id == node_id)
                .values(sync_state=SyncState.NO_SYNC, sync_state_updated=time.time(), **fields)
            )
        self.orders.forget([node_id])

    async def replace_items(self, node_id: int, items: list[ReceivedItem]) -> None:
        """The result of a full sync, in the service's order (oldest first)."""
        now = time.time()
        async with self._writing_session([node_id]) as session:
            await session.execute(delete(orm.PubsubItem).where(orm.PubsubItem.node_id == node_id))
            if items:
                await session.execute(ITEMS.insert(), [_row(node_id, item, now) for item in items])
        self.orders.forget([node_id])

    async def apply_changes(self, changes: Sequence[NodeChange]) -> list[ChangeOutcome]:
        """Apply changes of possibly several nodes in one transaction, in order: a
        retract after an upsert of the same id wins, a purge clears what came before,
        and each change sees the earlier ones (an item notified twice in one batch is
        new, then unchanged).

        :returns: what each change did (valid once this returns: committed).
        """
        try:
            async with self._writing_session({change.node_id for change in changes}) as session:
                dialect = "sqlite" if self.storage.is_sqlite else "postgresql"
                applier = _ChangeApplier(session, dialect)
                dropped = await applier.apply(changes)
        except BaseException:  # even a failed commit: what it did is not known
            self.orders.forget({change.node_id for change in changes})
            raise
        for node_id in {change.node_id for change in changes}:
            if node_id in applier.rewritten:
                self.orders.forget([node_id])
            else:
                self.orders.update(node_id, applier.added.get(node_id, ()), applier.removed.get(node_id, ()))
        self.ingest_transactions += 1
        return dropped

    async def get_items(self, node_id: int, *, item_ids: list[str] | None = None,
                        order_by: str | None = None) -> list[CachedItem]:
        """Items of a cached node (only ``item_ids`` if given), oldest first by creation, or
        by modification (``order_by``)."""
        columns = (orm.PubsubItem.name, orm.PubsubItem.data, orm.PubsubItem.parsed, orm.PubsubItem.created, orm.PubsubItem.updated)
        async with self.storage.session() as session:
            rows = await session.execute(_ordered(select(*columns), node_id, item_ids, order_by))
            return [CachedItem(*row) for row in rows]

    async def read_page(self, node_id: int, request: PageRequest, *, item_ids: list[str] | None = None,
                        order_by: str | None = None, parsed: bool = False) -> StoredPage:
        """The page ``request`` asks of a cached node's items (only ``item_ids`` if given),
        in :meth:`get_items` order, by keyset on the index (:mod:`.pubsub_cache_pages`):
        only the page's rows are read, whatever the node's size. Parsed data is read only
        if ``parsed`` (readers such as ``MbGet`` need not parse again).

        :raises NotFound: an RSM anchor names no item of the result set.
        """
        if not item_ids and order_by != "modification":
            page = await self._read_ordered(node_id, request, lambda reader, order: reader.read_ordered(
                order, request, parsed=parsed))
            if page is not None:
                return page
        async with self.storage.session() as session:
            return await NodePage(session_rows(session), node_id, item_ids, order_by).read(request, parsed=parsed)

    async def read_encoded_page(self, node_id: int, request: PageRequest) -> EncodedPage | None:
        """As :meth:`read_page` in creation order, for a reader that sends the raw XML on
        as JSON: the page's items come as one JSON array encoded by the database.

        :returns: None when the node's order held in memory was stale (dropped): then
            :meth:`read_page` answers.
        A page read before is served from memory while its node is unchanged
        (:mod:`.pubsub_cache_answers`): every write of this class drops the node's.

        :raises NotFound: an RSM anchor names no item of the node.
        """
        postgresql = not self.storage.is_sqlite
        return await self.answers.get(node_id, request, lambda: self._read_ordered(
            node_id, request, lambda reader, order: reader.read_encoded(order, request, postgresql=postgresql)))

    async def _read_ordered(self, node_id: int, request: PageRequest,
                            read: Callable[[NodePage, NodeOrder], Awaitable[PageT | None]]) -> PageT | None:
        """A page read with the node's order held in memory (loaded if need be), on the
        loop's thread up to :data:`IN_LOOP_ROWS` rows on SQLite, by asyncpg itself on PostgreSQL
        (:meth:`Storage.read_rows`); None (the order dropped) if stale."""
        order = await self.orders.get(node_id, lambda: self._order(node_id))
        rows = min(len(order), request.size or len(order))
        if rows <= IN_LOOP_ROWS or not self.storage.is_sqlite:
            page = await read(NodePage(self.storage.read_rows, node_id, None, None), order)
        else:
            async with self.storage.session() as session:
                page = await read(NodePage(session_rows(session), node_id, None, None), order)
        if page is None:
            self.orders.forget([node_id])  # stale: changed by someone else (never by the cache)
        return page

    async def _order(self, node_id: int) -> NodeOrder:
        """The ``(created, id)`` keys of every item of a node, in the cache's order (a
        scan: on the worker's thread). PostgreSQL aggregates them into two arrays (one
        row, decoded by asyncpg: 100k keys as rows took ≈300 ms); SQLite's driver reads
        them as plain tuples."""
        keys = (ITEMS.c.created, ITEMS.c.id)
        async with self.storage.session() as session:
            connection = await session.connection()
            if self.storage.is_sqlite:
                # the driver's rows as they come (plain tuples): SQLAlchemy's rows of 100k
                # keys cost more than reading them
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None
                cursor = await driver.execute(SQLITE_NODE_KEYS, (node_id,))
                try:
                    return NodeOrder.of(await cursor.fetchall())
                finally:
                    await cursor.close()
            from sqlalchemy.dialects.postgresql import aggregate_order_by  # not loaded on SQLite

            created, ids = (await connection.execute(select(
                func.array_agg(aggregate_order_by(ITEMS.c.created, *keys)),
                func.array_agg(aggregate_order_by(ITEMS.c.id, *keys)),
            ).where(ITEMS.c.node_id == node_id))).one()
            return NodeOrder(array("d", created or ()), array("q", ids or ()))

    async def item_data(self, node_id: int) -> dict[str, str]:
        """Raw XML of every cached item of a node, by item id."""
        async with self.storage.session() as session:
            rows = await session.execute(select(orm.PubsubItem.name, orm.PubsubItem.data).where(orm.PubsubItem.node_id == node_id))
            return {name: data for name, data in rows}

    async def nodes(self, state: SyncState | None = None, profile: str | None = None) -> list[CachedNode]:
        """The nodes in ``state`` (any if None), of ``profile`` (all if None), by Core SQL
        on the tables (no mapper to configure)."""
        async with self.storage.session() as session:
            statement = select(*NODE_COLUMNS)
            if state is not None:
                statement = statement.where(NODES.c.sync_state == state)
            if profile is not None:
                statement = statement.join(profiles).where(profiles.c.name == profile)
            return [CachedNode.from_columns(row) for row in await session.execute(statement)]

    async def reset(self) -> int:
        """Drop every cached node and item; returns how many nodes were dropped."""
        try:
            async with self._writing_session(None) as session:
                result = await session.execute(delete(orm.PubsubNode))
                return int(result.rowcount or 0)  # type: ignore[attr-defined]
        finally:
            self.orders.forget()

    async def purge(self, filters: PurgeFilters) -> tuple[int, int]:
        """Delete the cached items matching ``filters``; the nodes they came from are set
        back to "not analysed", so they are synchronised again before being served (a
        node with items missing must never be answered from the cache).

        :returns: (items deleted, nodes reset)
        """
        conditions = filters.conditions()
        # the nodes it touches are known inside the transaction only: every node's pages go
        async with self._writing_session(None) as session:
            matching = (select(orm.PubsubItem.id, orm.PubsubItem.node_id).join(orm.PubsubNode).join(orm.Profile)
                        .where(*conditions))
            rows = (await session.execute(matching)).all()
            item_ids = [row[0] for row in rows]
            node_ids = sorted({row[1] for row in rows})
            for start in range(0, len(item_ids), IN_BATCH):
                await session.execute(
                    delete(orm.PubsubItem).where(orm.PubsubItem.id.in_(item_ids[start:start + IN_BATCH])))
            if node_ids:
                await session.execute(
                    update(orm.PubsubNode).where(orm.PubsubNode.id.in_(node_ids))
                    .values(sync_state=None, sync_state_updated=time.time())
                )
        self.orders.forget(node_ids)
        return len(item_ids), len(node_ids)

    def profile_deleted(self, _name: str) -> None:
        """A profile was deleted (:class:`~sat_backend.core.profiles.Profiles`' listener):
        its nodes and items went by cascade, written outside this class, so nothing kept of
        any node stays (their ids may be given again) nor is kept by a read in flight."""
        self._changed_elsewhere(None)

    def _changed_elsewhere(self, node_ids: Collection[int] | None) -> None:
        """The items of ``node_ids`` (every node if None) changed without a write of this
        class: what the two caches kept of them (pages, orders) goes, and a read in flight
        keeps nothing."""
        self.answers.written(node_ids)
        self.orders.forget(node_ids)

    async def require_node(self, profile: str, service: str, name: str) -> CachedNode:
        """:raises NotFound: the node is not ``completed`` (not cached, or not yet)."""
        node = await self.get_node(profile, service, name)
        if node is None or node.sync_state != SyncState.COMPLETED:
            raise NotFound(f"node {name!r} of {service} is not cached")
        return node


async def _set_extra(session: AsyncSession, node_id: int, state: SyncState,
                     change: Callable[[dict[str, Any]], dict[str, Any]], **fields: Any) -> None:
    """A node's state, and its ``extra`` (the fields of :class:`CachedNode` it holds) as
    ``change`` makes it from the stored one, read in the same transaction."""
    extra = await session.scalar(select(orm.PubsubNode.extra).where(orm.PubsubNode.id == node_id))
    await session.execute(
        update(orm.PubsubNode).where(orm.PubsubNode.id == node_id)
        .values(sync_state=state, sync_state_updated=time.time(), extra=change(dict(extra or {})), **fields)
    )


def _ordered(statement: Select[Any], node_id: int, item_ids: list[str] | None, order_by: str | None) -> Select[Any]:
    """``statement`` on a node's items (only ``item_ids`` if given), oldest first by
    creation or by modification (``order_by``), then by row id."""
    column = orm.PubsubItem.updated if order_by == "modification" else orm.PubsubItem.created
    statement = statement.where(orm.PubsubItem.node_id == node_id)
    if item_ids:
        statement = statement.where(orm.PubsubItem.name.in_(item_ids))
    return statement.order_by(column, orm.PubsubItem.id)


def _row(node_id: int, item: ReceivedItem, now: float) -> dict[str, Any]:
    """An item's row, every column given (Core: no ORM default or validator runs)."""
    return {"node_id": node_id, "name": item.id, "data": item.xml, "parsed": item.parsed, "digest": item.digest,
            "search_text": item.search_text, "created": now, "updated": now}


def _upsert_statement(dialect: str) -> Insert:
    """``INSERT … ON CONFLICT (node_id, name) DO UPDATE`` of the dialect (same syntax on
    SQLite and PostgreSQL; SQLite fires the full-text index's update trigger)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # imported when used: a start on SQLite never loads the PostgreSQL dialect
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    statement = insert(ITEMS)
    return statement.on_conflict_do_update(index_elements=[ITEMS.c.node_id, ITEMS.c.name],
                                           set_={column: statement.excluded[column] for column in UPSERT_COLUMNS})


class _ChangeApplier:
    """Applies :class:`NodeChange` s in one transaction, in Core.

    ``stored`` says, per (node, id) the batch names, what the database holds once the
    changes seen so far are applied: the item's digest, or None (absent). It is read with
    one SELECT per node before the first change, then kept up to date in memory, so that
    each change sees the earlier ones; the writes wait in ``upserts``/``deletes`` until
    :meth:`_flush` (at the end, or before a purge or a configuration change, which work
    on the rows in the database). Deletes are written before upserts: an id retracted
    then notified again is a new row.
    """

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect
        self.now = time.time()
        self.stored: dict[tuple[int, str], str | None] = {}
        self.upserts: dict[tuple[int, str], ReceivedItem] = {}
        self.deletes: set[tuple[int, str]] = set()
        #: digests computed for rows stored without one (written if the row stays as it is)
        self.backfills: dict[tuple[int, str], str] = {}
        #: per node, the ``(created, id)`` keys of the rows written and deleted (for its
        #: order in memory), and the nodes whose rows changed otherwise (purge, a lowered
        #: ``max_items``: their order is forgotten)
        self.added: dict[int, list[tuple[float, int]]] = {}
        self.removed: dict[int, list[tuple[float, int]]] = {}
        self.rewritten: set[int] = set()

    async def apply(self, changes: Sequence[NodeChange]) -> list[ChangeOutcome]:
        await self._load(changes)
        outcomes: list[ChangeOutcome] = []
        for change in changes:
            outcome = ChangeOutcome()
            if change.kind == "items":
                outcome.changed = [self._upsert(change.node_id, item) for item in change.items]
            elif change.kind == "retract":
                outcome.changed = [self._retract(change.node_id, name) for name in change.names]
            elif change.kind in ("purge", "delete"):
                await self._clear(change.node_id, node_too=change.kind == "delete")
            elif change.kind == "config":
                outcome.dropped = await self._configure(change.node_id, change.config or {})
            else:
                raise ValueError(f"unknown change kind {change.kind!r}")
            outcomes.append(outcome)
        await self._flush()
        return outcomes

    async def _load(self, changes: Sequence[NodeChange]) -> None:
        """The stored digest of every id the batch names, one SELECT per node (rows stored
        without a digest: computed from their XML, once)."""
        names: dict[int, set[str]] = {}
        for change in changes:
            names.setdefault(change.node_id, set()).update(item.id for item in change.items)
            names[change.node_id].update(change.names)
        digest_or_data = case((ITEMS.c.digest.is_(None), ITEMS.c.data), else_=null())
        for node_id, node_names in names.items():
            ordered = sorted(node_names)
            for start in range(0, len(ordered), IN_BATCH):
                for name, digest, data in await self.session.execute(
                    select(ITEMS.c.name, ITEMS.c.digest, digest_or_data)
                    .where(ITEMS.c.node_id == node_id, ITEMS.c.name.in_(ordered[start:start + IN_BATCH]))
                ):
                    if digest is None:
                        digest = self.backfills[(node_id, name)] = digest_of(data)
                    self.stored[(node_id, name)] = digest

    def _upsert(self, node_id: int, item: ReceivedItem) -> bool:
        key = (node_id, item.id)
        if self.stored.get(key) == item.digest:
            return False  # notified again (Prosody: once per subscription): untouched
        self.stored[key] = item.digest
        self.upserts[key] = item
        self.backfills.pop(key, None)
        return True

    def _retract(self, node_id: int, name: str) -> bool:
        key = (node_id, name)
        if self.stored.get(key) is None:
            return False
        self.stored[key] = None
        self.upserts.pop(key, None)
        self.backfills.pop(key, None)
        self.deletes.add(key)
        return True

    async def _flush(self) -> None:
        by_node: dict[int, list[str]] = {}
        for node_id, name in self.deletes:
            by_node.setdefault(node_id, []).append(name)
        for node_id, names in by_node.items():
            for start in range(0, len(names), IN_BATCH):
                deleted = await self.session.execute(
                    delete(ITEMS).where(ITEMS.c.node_id == node_id, ITEMS.c.name.in_(names[start:start + IN_BATCH]))
                    .returning(ITEMS.c.created, ITEMS.c.id))
                self.removed.setdefault(node_id, []).extend((created, row_id) for created, row_id in deleted)
        if self.upserts:
            written = await self.session.execute(
                _upsert_statement(self.dialect).returning(ITEMS.c.node_id, ITEMS.c.created, ITEMS.c.id),
                [_row(node_id, item, self.now) for (node_id, _), item in self.upserts.items()])
            for node_id, created, row_id in written:  # new rows, and rows rewritten in place (same key)
                self.added.setdefault(node_id, []).append((created, row_id))
        if self.backfills:
            await self.session.execute(
                update(ITEMS).where(ITEMS.c.node_id == bindparam("node"), ITEMS.c.name == bindparam("item"))
                .values(digest=bindparam("value")),
                [{"node": node_id, "item": name, "value": digest}
                 for (node_id, name), digest in self.backfills.items()])
        self.upserts, self.deletes, self.backfills = {}, set(), {}

    def _forget(self, node_id: int, names: set[str] | None = None) -> None:
        """The node's ``names`` (all if None) are no longer stored."""
        for key in self.stored:
            if key[0] == node_id and (names is None or key[1] in names):
                self.stored[key] = None

    async def _clear(self, node_id: int, *, node_too: bool) -> None:
        await self._flush()
        self.rewritten.add(node_id)
        self._forget(node_id)
        await self.session.execute(delete(ITEMS).where(ITEMS.c.node_id == node_id))
        if node_too:
            await self.session.execute(delete(orm.PubsubNode).where(orm.PubsubNode.id == node_id))

    async def _configure(self, node_id: int, config: dict[str, Any]) -> list[str]:
        node = (await self.session.execute(select(orm.PubsubNode.extra).where(orm.PubsubNode.id == node_id))).first()
        if node is None:
            return []
        await self.session.execute(update(orm.PubsubNode).where(orm.PubsubNode.id == node_id)
                                   .values(extra={**(node.extra or {}), "config": config}))
        max_items = str(config.get("pubsub#max_items", ""))
        if not max_items.isdigit():
            return []  # absent, or "max"
        await self._flush()
        names = list(await self.session.scalars(
            select(ITEMS.c.name).where(ITEMS.c.node_id == node_id).order_by(ITEMS.c.created, ITEMS.c.id)))
        oldest = names[:max(0, len(names) - int(max_items))]
        if oldest:
            self.rewritten.add(node_id)
        for start in range(0, len(oldest), IN_BATCH):
            await self.session.execute(
                delete(ITEMS).where(ITEMS.c.node_id == node_id, ITEMS.c.name.in_(oldest[start:start + IN_BATCH])))
        self._forget(node_id, set(oldest))
        return oldest
