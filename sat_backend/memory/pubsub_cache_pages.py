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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import ColumnElement, Select, func, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from sat_backend.core.result_set import PageRequest
from sat_backend.memory.sqla_mapping import PubsubItem


#: a row of a page: item id, raw XML, parsed data (None: not asked for, or none)
Row = tuple[str, str, "dict[str, Any] | None"]


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


class NodePage:
    """The queries of one page request on one node's items (only ``item_ids`` if given),
    oldest first by creation, or by modification (``order_by``), then by row id. Two
    statements a page (each costs a round trip through the async driver): where the
    anchor is and how many rows lie on each side of it (or how many rows there are), then
    the page's rows.

    Rows on one side of an anchor ``(created, id)`` are two index ranges: its ties
    (``created`` equal: a sync stores a whole node with one ``created``) by id, and the
    rows beyond its ``created``. A row-value comparison ``(created, id) > (c, i)`` says
    the same, but SQLite seeks the index on ``created`` only, then walks every tie
    (measured: 5 ms to skip 50k ties).
    """

    def __init__(self, session: AsyncSession, node_id: int, item_ids: Sequence[str] | None,
                 order_by: str | None) -> None:
        self.session = session
        self.conditions: list[ColumnElement[bool]] = [PubsubItem.node_id == node_id]
        if item_ids:
            self.conditions.append(PubsubItem.name.in_(item_ids))
        self.column = PubsubItem.updated if order_by == "modification" else PubsubItem.created

    async def read(self, request: PageRequest, *, parsed: bool) -> StoredPage:
        """The page ``request`` asks for (parsed data read only if ``parsed``).

        :raises NotFound: an RSM anchor names no item of the result set.
        """
        located = {anchor: found for anchor in request.anchors if (found := await self._locate(anchor))}
        keys = {anchor: key for anchor, (key, _, _) in located.items()}
        positions = {anchor: before for anchor, (_, before, _) in located.items()}
        if len(located) == 1 == len(request.anchors):  # its rows before, itself, its rows after
            [(_, before, after)] = located.values()
            count = before + 1 + after
        else:
            count = int(await self.session.scalar(select(func.count()).select_from(PubsubItem)
                                                  .where(*self.conditions)) or 0)
        start, end = request.bounds(count, positions)
        if end <= start:
            return StoredPage([], start, end, count)
        columns = (PubsubItem.name, PubsubItem.data, (PubsubItem.parsed if parsed else null()).label("parsed"))
        if request.after:  # the rows right after the anchor
            rows = await self._beside(columns, keys[request.after], end - start, forward=True)
        elif request.after is None and request.before:  # the rows right before it
            rows = await self._beside(columns, keys[request.before], end - start, forward=False)
        elif end == count:  # the most recent ones (last page, ``before`` ""): read backwards
            statement = select(*columns).where(*self.conditions)
            rows = await self._fetch(_limited(statement, self.column, PubsubItem.id, end - start, False), False)
        else:  # from ``start``: skipped in the index alone (OFFSET), then the page's rows by id
            ids = _limited(select(PubsubItem.id).where(*self.conditions), self.column, PubsubItem.id, end - start,
                           True).offset(start)
            statement = select(*columns).where(PubsubItem.id.in_(ids))
            rows = await self._fetch(statement.order_by(self.column, PubsubItem.id), True)
        return StoredPage(rows, start, end, count)

    async def _locate(self, anchor: str) -> tuple[tuple[float, int], int, int] | None:
        """The anchor's ``(created, id)`` and how many rows lie before and after it, in one
        statement of index range COUNTs; None if no row of the result set has that id."""
        found = (select(self.column.label("value"), PubsubItem.id.label("row_id"))
                 .where(*self.conditions, PubsubItem.name == anchor).subquery("anchor"))
        key = (found.c.value, found.c.row_id)
        counts = [select(func.count()).select_from(PubsubItem).where(*self.conditions, *side).scalar_subquery()
                  for forward in (False, True) for side in self._sides(key, forward)]
        row = (await self.session.execute(select(found.c.value, found.c.row_id, *counts))).first()
        if row is None:
            return None
        value, row_id, *sides = row
        return (value, row_id), sides[0] + sides[1], sides[2] + sides[3]

    def _sides(self, key: tuple[Any, Any], forward: bool) -> tuple[list[ColumnElement[bool]], ...]:
        """The conditions of the anchor's ties on one side, and of the rows beyond them."""
        value, row_id = key
        if forward:
            return [self.column == value, PubsubItem.id > row_id], [self.column > value]
        return [self.column == value, PubsubItem.id < row_id], [self.column < value]

    async def _beside(self, columns: tuple[Any, ...], key: tuple[float, int], limit: int, *,
                      forward: bool) -> list[Row]:
        """The ``limit`` rows next to the anchor on one side: of its nearest ties and its
        nearest rows beyond them (two index ranges, ``limit`` rows each at most)."""
        keyed = (*columns, self.column.label("sort_value"), PubsubItem.id.label("sort_id"))
        ranges = [_limited(select(*keyed).where(*self.conditions, *side), self.column, PubsubItem.id, limit,
                           forward).subquery() for side in self._sides(key, forward)]
        both = union_all(*(select(part) for part in ranges)).subquery("beside")
        statement = select(both.c.name, both.c.data, both.c.parsed)
        return await self._fetch(_limited(statement, both.c.sort_value, both.c.sort_id, limit, forward), forward)

    async def _fetch(self, statement: Select[Any], forward: bool) -> list[Row]:
        """The rows of ``statement``, oldest first (it read them backwards unless ``forward``)."""
        rows = [(name, data, parsed) for name, data, parsed in await self.session.execute(statement)]
        return rows if forward else rows[::-1]


def _limited(statement: Select[Any], value: Any, row_id: Any, limit: int, forward: bool) -> Select[Any]:
    """``statement`` ordered by ``(value, row_id)`` (descending unless ``forward``), cut to ``limit``."""
    order = (value, row_id) if forward else (value.desc(), row_id.desc())
    return statement.order_by(*order).limit(limit)
