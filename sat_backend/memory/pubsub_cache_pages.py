"""A page of a cached pubsub node, read by keyset on ``(node_id, created, id)``.

The cache answers ``PsItemsGet``/``PsCacheGet`` a page at a time (XEP-0059 RSM, or the
``max_items`` most recent). Reading every item id of the node in order and cutting the
list grew with the node (110–140 ms a page at 100k items, issue 14); here the page's rows
come from the index ``ix_pubsub_items_node_id_created_id`` (migration 0005): ``ORDER BY
created, id LIMIT n`` next to the RSM anchor's ``(created, id)`` or from either end,
OFFSET only for ``index`` paging. RSM still answers ``index`` and ``count``: COUNTs of
index ranges (the rows before and after the anchor), which walk the node's index
entries (≈ 2 ms per 100k on SQLite), the one part that still grows with the node.
Which page a request means is decided by :class:`~sat_backend.core.result_set.PageRequest`,
as for a list held in memory. Ordering by modification (``updated``) has no index: right
answers, read by sorting the node's rows in SQL.

When the node's order is held in memory (:mod:`.pubsub_cache_order`, the cache's usual
case: creation order, no item-id filter), :meth:`NodePage.read_ordered` takes positions
and count from it instead of COUNTs: one indexed look-up of the anchor's key, then the
page's rows by keyset from the key before the page, whatever the node's size.
:meth:`NodePage.read_encoded` reads such a page for a reader that sends the items on as
JSON (``PsItemsGet``): the database aggregates the page's raw XML into one JSON array
(SQLite ``json_group_array``, PostgreSQL ``json_agg``), so no Python string is made per
item and nothing is encoded again (issue 14: the rows' objects and ``json.dumps`` were
a third of a 1,000-item read).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy import ColumnElement, Integer, Select, Text, bindparam, cast, func, null, select, union_all

from sat_backend.core.result_set import PageRequest
from sat_backend.memory.pubsub_cache_order import NodeOrder
from sat_backend.memory.tables import pubsub_items

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


#: a row of a page: item id, raw XML, parsed data (None: not asked for, or none)
Row = tuple[str, str, "dict[str, Any] | None"]
#: what runs a page's statements: a statement and its bound values → its rows
#: (:meth:`~sat_backend.memory.sqla.Storage.read_rows`, or :func:`session_rows`)
RowsReader = Callable[[Select[Any], Mapping[str, Any]], Awaitable[list[Any]]]


@dataclass(frozen=True)
class StoredPage:
    """Rows ``(item id, raw XML, parsed data or None)`` of positions ``start`` to ``end``
    of a result set of ``count`` items."""

    rows: list[Row]
    start: int
    end: int
    count: int

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.rows]

    @property
    def edges(self) -> list[str]:
        """The item ids of the first and last rows (empty page: none), what RSM answers."""
        return [self.rows[0][0], self.rows[-1][0]] if self.rows else []


@dataclass(frozen=True)
class EncodedPage:
    """Positions ``start`` to ``end`` of a node of ``count`` items, their raw XML as one
    JSON array (``items_json``, encoded by the database) and the item ids of the first and
    last (``edges``, empty for an empty page)."""

    items_json: str
    edges: list[str]
    start: int
    end: int
    count: int


class NodePage:
    """The queries of one page request on one node's items (only ``item_ids`` if given),
    oldest first by creation, or by modification (``order_by``), then by row id. Two
    statements a page (each costs a round trip through the async driver): where the
    anchor is and how many rows lie on each side of it (or how many rows there are), then
    the page's rows. The statements are built once per shape (:func:`_statements`),
    values bound at execution: building them took longer than SQLite ran them.

    Rows on one side of an anchor ``(created, id)`` are two index ranges: its ties
    (``created`` equal: a sync stores a whole node with one ``created``) by id, and the
    rows beyond its ``created``. A row-value comparison ``(created, id) > (c, i)`` says
    the same, but SQLite seeks the index on ``created`` only, then walks every tie
    (measured: 5 ms to skip 50k ties).
    """

    def __init__(self, rows: RowsReader, node_id: int, item_ids: Sequence[str] | None, order_by: str | None) -> None:
        self.rows = rows
        self.params: dict[str, Any] = {"node_id": node_id, "item_ids": list(item_ids or ())}
        self.by_modification = order_by == "modification"
        self.filtered = bool(item_ids)

    async def read(self, request: PageRequest, *, parsed: bool) -> StoredPage:
        """The page ``request`` asks for (parsed data read only if ``parsed``).

        :raises NotFound: an RSM anchor names no item of the result set.
        """
        statements = _statements(self.by_modification, self.filtered, parsed)
        located = {anchor: found for anchor in request.anchors
                   for found in await self._execute(statements.locate, anchor=anchor)}
        positions = {anchor: before_ties + before for anchor, (_, _, before_ties, before, _, _) in located.items()}
        if len(located) == 1 == len(request.anchors):  # its rows before, itself, its rows after
            [(_, _, before_ties, before, after_ties, after)] = located.values()
            count = before_ties + before + 1 + after_ties + after
        else:
            [(count,)] = await self._execute(statements.count)
        start, end = request.bounds(count, positions)
        if end <= start:
            return StoredPage([], start, end, count)
        limit = end - start
        if request.after:  # the rows right after the anchor
            value, row_id, *_ = located[request.after]
            rows = await self._execute(statements.after, value=value, row_id=row_id, limit=limit)
        elif request.after is None and request.before:  # the rows right before it
            value, row_id, *_ = located[request.before]
            rows = await self._execute(statements.before, value=value, row_id=row_id, limit=limit)
        elif end == count:  # the most recent ones (last page, ``before`` "")
            rows = await self._execute(statements.last, limit=limit)
        else:  # from ``start``: skipped in the index alone (OFFSET), then the page's rows by id
            rows = await self._execute(statements.from_start, limit=limit, offset=start)
        backwards = request.after is None and (bool(request.before) or end == count)
        page: list[Row] = [(name, data, stored) for name, data, stored, *_ in rows]
        return StoredPage(page[::-1] if backwards else page, start, end, count)

    async def read_ordered(self, order: NodeOrder, request: PageRequest, *, parsed: bool) -> StoredPage | None:
        """The page ``request`` asks for, positions and count taken from ``order`` (the
        node's, creation order, no item-id filter).

        :returns: None when the rows read do not agree with ``order`` (it is stale).
        :raises NotFound: an RSM anchor names no item of the node.
        """
        statements = _statements(False, False, parsed)
        read = await self._ordered_rows(order, request, statements, statements.first, statements.after)
        if read is None:
            return None
        start, end, count, rows = read
        if [row[3] for row in rows] != order.ids[start:end].tolist():
            return None
        return StoredPage([(name, data, stored) for name, data, stored, _ in rows], start, end, count)

    async def read_encoded(self, order: NodeOrder, request: PageRequest, *, postgresql: bool) -> EncodedPage | None:
        """As :meth:`read_ordered`, the page's raw XML as one JSON array built by the
        database (no parsed data): one row whatever the page's size.

        :param postgresql: the database is PostgreSQL (else SQLite): its JSON aggregate.

        :returns: None when the rows read do not agree with ``order`` (it is stale).
        :raises NotFound: an RSM anchor names no item of the node.
        """
        encoded = _encoded_statements(postgresql)
        read = await self._ordered_rows(order, request, _statements(False, False, False), encoded.first, encoded.after)
        if read is None:
            return None
        start, end, count, rows = read
        if not rows:
            return EncodedPage("[]", [], start, end, count)
        [(items_json, ids, first, last)] = rows
        # aggregated in one pass: ids in the order's order mean the items are in it too
        if isinstance(ids, str):
            ids = json.loads(ids)
        if ids is None or ids != order.ids[start:end].tolist():
            return None
        return EncodedPage(items_json, [first, last], start, end, count)

    async def _ordered_rows(self, order: NodeOrder, request: PageRequest, statements: _Statements,
                            first: Select[Any], after: Select[Any]) -> tuple[int, int, int, list[tuple[Any, ...]]] | None:
        """``(start, end, count)`` of the page from ``order``, and what ``first`` (a page
        from the node's start) or ``after`` (the rows right after the page's previous one)
        read for it (nothing for an empty page); None if an anchor's key is not in the
        order (stale). Both statements get the row ids of the page's first and last rows
        (``first_id``, ``last_id``) besides their keys."""
        positions: dict[str, int] = {}
        if request.anchors:
            for name, value, row_id in await self._execute(statements.keys, anchors=sorted(request.anchors)):
                position = order.position(value, row_id)
                if position is None:
                    return None
                positions[name] = position
        count = len(order)
        start, end = request.bounds(count, positions)
        if end <= start:
            return start, end, count, []
        edges = {"first_id": order.ids[start], "last_id": order.ids[end - 1]}
        if start == 0:
            return start, end, count, await self._execute(first, limit=end, **edges)
        value, row_id = order.key(start - 1)
        return start, end, count, await self._execute(after, value=value, row_id=row_id, limit=end - start, **edges)

    async def _execute(self, statement: Select[Any], **values: Any) -> list[tuple[Any, ...]]:
        return await self.rows(statement, {**self.params, **values})


def session_rows(session: AsyncSession | AsyncConnection) -> RowsReader:
    """A :data:`RowsReader` running the statements in ``session``."""
    async def rows(statement: Select[Any], values: Mapping[str, Any]) -> list[Any]:
        # all(): one fetchall, not a fetchone per row through the async adapter (1 ms per 1,000 rows)
        return list((await session.execute(statement, values)).all())

    return rows


@dataclass(frozen=True)
class _Statements:
    """The statements of a page, for one order, filter and choice of columns."""

    count: Select[Any]
    #: the anchor's (value, id), then the counts of its ties and the rows beyond them,
    #: before it and after it
    locate: Select[Any]
    after: Select[Any]
    before: Select[Any]
    last: Select[Any]
    from_start: Select[Any]
    #: (name, value, id) of the anchors named ``anchors``
    keys: Select[Any]
    #: the first ``limit`` rows, with their ids
    first: Select[Any]


@functools.cache
def _statements(by_modification: bool, filtered: bool, parsed: bool) -> _Statements:
    column = pubsub_items.c.updated if by_modification else pubsub_items.c.created
    conditions: list[ColumnElement[bool]] = [pubsub_items.c.node_id == bindparam("node_id")]
    if filtered:
        conditions.append(pubsub_items.c.name.in_(bindparam("item_ids", expanding=True)))
    columns = (pubsub_items.c.name, pubsub_items.c.data, (pubsub_items.c.parsed if parsed else null()).label("parsed"))
    limit = bindparam("limit", type_=Integer)

    def sides(value: Any, row_id: Any, forward: bool) -> tuple[list[ColumnElement[bool]], ...]:
        """The conditions of an anchor's ties on one side, and of the rows beyond them."""
        if forward:
            return [column == value, pubsub_items.c.id > row_id], [column > value]
        return [column == value, pubsub_items.c.id < row_id], [column < value]

    def count(*side: ColumnElement[bool]) -> Select[Any]:
        return select(func.count()).select_from(pubsub_items).where(*conditions, *side)

    def beside(forward: bool) -> Select[Any]:
        """The rows next to an anchor on one side: of its nearest ties and its nearest
        rows beyond them (two index ranges, ``limit`` rows each at most)."""
        keyed = (*columns, column.label("sort_value"), pubsub_items.c.id.label("sort_id"))
        ranges = [_limited(select(*keyed).where(*conditions, *side), column, pubsub_items.c.id, limit, forward).subquery()
                  for side in sides(bindparam("value"), bindparam("row_id"), forward)]
        both = union_all(*(select(part) for part in ranges)).subquery("beside")
        return _limited(select(both.c.name, both.c.data, both.c.parsed, both.c.sort_id), both.c.sort_value,
                        both.c.sort_id, limit, forward)

    anchor = (select(column.label("value"), pubsub_items.c.id.label("row_id"))
              .where(*conditions, pubsub_items.c.name == bindparam("anchor")).subquery("anchor"))
    counts = [count(*side).scalar_subquery() for forward in (False, True)
              for side in sides(anchor.c.value, anchor.c.row_id, forward)]
    key_columns: tuple[Any, ...] = (pubsub_items.c.name, column, pubsub_items.c.id)
    anchor_keys = select(*key_columns).where(
        *conditions, pubsub_items.c.name.in_(bindparam("anchors", expanding=True)))
    page_ids = _limited(select(pubsub_items.c.id).where(*conditions), column, pubsub_items.c.id, limit, True)
    return _Statements(
        count=count(),
        locate=select(anchor.c.value, anchor.c.row_id, *counts),
        after=beside(True),
        before=beside(False),
        last=_limited(select(*columns).where(*conditions), column, pubsub_items.c.id, limit, False),
        from_start=select(*columns).where(pubsub_items.c.id.in_(page_ids.offset(bindparam("offset", type_=Integer))))
        .order_by(column, pubsub_items.c.id),
        keys=anchor_keys,
        first=_limited(select(*columns, pubsub_items.c.id).where(*conditions), column, pubsub_items.c.id, limit, True),
    )


@dataclass(frozen=True)
class _EncodedStatements:
    """The page statements of :meth:`NodePage.read_encoded`: one row of the raw XML as a
    JSON array, the row ids (a JSON array on SQLite, an array on PostgreSQL) of the rows
    of :class:`_Statements` ``first``/``after``, and the item ids of the rows ``first_id``
    and ``last_id`` (looked up by primary key)."""

    first: Select[Any]
    after: Select[Any]


@functools.cache
def _encoded_statements(postgresql: bool) -> _EncodedStatements:
    """Aggregated in the order of the page's subquery (its ORDER BY and LIMIT keep it from
    being flattened); the row ids aggregated beside check that order."""
    aggregate = func.json_agg if postgresql else func.json_group_array
    statements = _statements(False, False, False)

    def encoded(rows: Select[Any]) -> Select[Any]:
        page = rows.subquery("page")
        name, data, _, row_id = page.c
        # PostgreSQL's ids as an array, which asyncpg reads as a list (no JSON made nor parsed)
        arrays: list[Any] = [cast(aggregate(data), Text),
                             func.array_agg(row_id) if postgresql else cast(aggregate(row_id), Text)]
        edges = [select(pubsub_items.c.name).where(pubsub_items.c.id == bindparam(key)).scalar_subquery()
                 for key in ("first_id", "last_id")]
        return select(*arrays, *edges)

    return _EncodedStatements(first=encoded(statements.first), after=encoded(statements.after))


def _limited(statement: Select[Any], value: Any, row_id: Any, limit: Any, forward: bool) -> Select[Any]:
    """``statement`` ordered by ``(value, row_id)`` (descending unless ``forward``), cut to ``limit``."""
    order = (value, row_id) if forward else (value.desc(), row_id.desc())
    return statement.order_by(*order).limit(limit)
