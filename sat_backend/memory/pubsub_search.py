"""``PsCacheSearch``: the query JSON checked into a typed :class:`SearchQuery`, then run.

Validation is pure (unit-tested without a database): an unknown key, operator, order or a
value of the wrong type is :class:`InvalidArgument` with a message naming it. The
statement is built with SQLAlchemy and bound parameters only; full-text conditions come
from :mod:`.pubsub_fts`, ``parsed`` conditions from :mod:`.pubsub_json_filters`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, column, func, literal_column, select, table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.json_arguments import checked_object, parse_json_object, string_list
from sat_backend.memory import pubsub_fts_bm25, pubsub_fts_terms, pubsub_json_filters
from sat_backend.memory.pubsub_fts import FTS_TABLE, ITEMS_TABLE, PG_VECTOR, FtsQuery
from sat_backend.memory.pubsub_fts_bm25 import Bm25Totals
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import Profile, PubsubItem, PubsubNode

QUERY_KEYS = ("fts", "profiles", "services", "nodes", "types", "subtypes", "names", "parsed", "order-by",
              "index", "limit", "with_payload")
OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "between", "in", "not_in", "like", "ilike", "overlap", "disjoint")
ORDERS = ("creation", "modification", "item_id", "rank")
DIRECTIONS = ("asc", "desc")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_FILTERS = 32
MAX_ORDER_KEYS = 8
MAX_PATH_LENGTH = 16
MAX_VALUES = 100

PathPart = str | int


@dataclass(frozen=True)
class ParsedFilter:
    """``{"path": [...], "op": OP, "value": ...}``: a condition on the item's parsed data."""

    path: tuple[PathPart, ...]
    op: str
    value: Any

    @classmethod
    def parse(cls, raw: Any, where: str) -> ParsedFilter:
        """:raises InvalidArgument: not an object, unknown key or operator, bad value."""
        checked_object(raw, where, ("path", "op", "value"), expected="an object {path, op, value}")
        for key in ("path", "op", "value"):
            if key not in raw:
                raise InvalidArgument(f"{where}: {key!r} is missing")
        op = raw["op"]
        if not isinstance(op, str) or op not in OPERATORS:
            raise InvalidArgument(f"{where}: unknown operator {op!r}; known: {', '.join(OPERATORS)}")
        return cls(parse_path(raw["path"], f"{where}.path"), op, _check_value(op, raw["value"], f"{where}.value"))


@dataclass(frozen=True)
class OrderKey:
    """One sort key: a column (``order``) or a parsed path, ascending or descending."""

    order: str | None = None
    path: tuple[PathPart, ...] | None = None
    descending: bool = False

    @classmethod
    def parse(cls, raw: Any, where: str) -> OrderKey:
        """:raises InvalidArgument: not an object, neither or both of order and path, unknown
        order or direction, bad path."""
        checked_object(raw, where, ("order", "path", "direction"), expected="an object {order|path, direction}")
        if ("order" in raw) == ("path" in raw):
            raise InvalidArgument(f"{where} needs exactly one of 'order' and 'path'")
        order = raw.get("order")
        if order is not None and (not isinstance(order, str) or order not in ORDERS):
            raise InvalidArgument(f"{where}: unknown order {order!r}; known: {', '.join(ORDERS)}")
        direction = raw.get("direction", "desc" if order == "rank" else "asc")
        if not isinstance(direction, str) or direction not in DIRECTIONS:
            raise InvalidArgument(f"{where}: direction must be 'asc' or 'desc'")
        path = parse_path(raw["path"], f"{where}.path") if "path" in raw else None
        return cls(order, path, direction == "desc")


@dataclass(frozen=True)
class SearchQuery:
    """A validated ``PsCacheSearch`` query (keys: see the bridge contract)."""

    fts: FtsQuery | None = None
    profiles: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    subtypes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    parsed: tuple[ParsedFilter, ...] = ()
    order_by: tuple[OrderKey, ...] = ()
    index: int = 0
    limit: int = DEFAULT_LIMIT
    with_payload: bool = False

    @classmethod
    def from_json(cls, query_json: str) -> SearchQuery:
        """:raises InvalidArgument: anything but a valid query (see the bridge doc)."""
        query = parse_json_object(query_json, "query_json", QUERY_KEYS)
        fts = query.get("fts")
        if fts is not None and not isinstance(fts, str):
            raise InvalidArgument("fts must be a string")
        parsed = _list(query, "parsed", MAX_FILTERS)
        order_by = _list(query, "order-by", MAX_ORDER_KEYS)
        with_payload = query.get("with_payload", False)
        if not isinstance(with_payload, bool):
            raise InvalidArgument("with_payload must be true or false")
        result = cls(
            fts=FtsQuery.parse(fts) if fts is not None else None,
            parsed=tuple(ParsedFilter.parse(raw, f"parsed[{i}]") for i, raw in enumerate(parsed)),
            order_by=tuple(OrderKey.parse(raw, f"order-by[{i}]") for i, raw in enumerate(order_by)),
            index=_integer(query, "index", 0, 0, None),
            limit=_integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
            with_payload=with_payload,
            **{key: string_list(query, key) for key in ("profiles", "services", "nodes", "types", "subtypes",
                                                       "names")},
        )
        if result.fts is None and any(key.order == "rank" for key in result.order_by):
            raise InvalidArgument("order-by rank needs an fts query")
        return result


def parse_path(raw: Any, where: str) -> tuple[PathPart, ...]:
    """A path in the parsed data: keys (strings) and array indexes (integers ≥ 0)."""
    if not isinstance(raw, list) or not raw:
        raise InvalidArgument(f"{where} must be a non-empty list of keys and indexes")
    if len(raw) > MAX_PATH_LENGTH:
        raise InvalidArgument(f"{where} is longer than {MAX_PATH_LENGTH}")
    for part in raw:
        if isinstance(part, bool) or not isinstance(part, (str, int)):
            raise InvalidArgument(f"{where}: {part!r} is neither a key (string) nor an index (integer)")
        if isinstance(part, int) and part < 0:
            raise InvalidArgument(f"{where}: array indexes start at 0")
        if isinstance(part, str) and '"' in part:
            raise InvalidArgument(f'{where}: keys cannot contain \'"\'')
    return tuple(raw)


def _check_value(op: str, value: Any, where: str) -> Any:
    if op in ("==", "!="):
        _scalar(value, where, (str, int, float, bool, type(None)))
    elif op in ("<", "<=", ">", ">="):
        _scalar(value, where, (str, int, float))
    elif op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise InvalidArgument(f"{where}: between takes a list [low, high]")
        for bound in value:
            _scalar(bound, where, (str, int, float))
        if isinstance(value[0], str) != isinstance(value[1], str):
            raise InvalidArgument(f"{where}: both bounds must be numbers, or both strings")
    elif op in ("in", "not_in", "overlap", "disjoint"):
        if not isinstance(value, list):
            raise InvalidArgument(f"{where}: {op} takes a list")
        if len(value) > MAX_VALUES:
            raise InvalidArgument(f"{where}: more than {MAX_VALUES} values")
        allowed: tuple[type, ...] = (str, int, float, bool)
        for item in value:
            _scalar(item, where, allowed + (type(None),) if op in ("in", "not_in") else allowed)
    else:  # like, ilike
        if not isinstance(value, str):
            raise InvalidArgument(f"{where}: {op} takes a pattern string (% and _ wildcards, \\ escapes)")
        if (len(value) - len(value.rstrip("\\"))) % 2:
            raise InvalidArgument(f"{where}: the pattern ends with a lone escape character '\\'")
    return value


def _scalar(value: Any, where: str, allowed: tuple[type, ...]) -> None:
    names = {str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
    if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
        kinds = ", ".join(dict.fromkeys(names[kind] for kind in allowed))
        raise InvalidArgument(f"{where}: {value!r} is not allowed here ({kinds})")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"{where}: numbers must be finite")


def _list(query: dict[str, Any], key: str, maximum: int) -> list[Any]:
    value = query.get(key, [])
    if not isinstance(value, list):
        raise InvalidArgument(f"{key} must be a list")
    if len(value) > maximum:
        raise InvalidArgument(f"{key}: at most {maximum} entries")
    return value


def _integer(query: dict[str, Any], key: str, default: int, minimum: int, maximum: int | None) -> int:
    value = query.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{key} must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise InvalidArgument(f"{key} must be {bounds}")
    return value


# the statement ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SortKey:
    """One ORDER BY term: an expression, its direction, and whether NULLs go last."""

    expression: Any
    descending: bool = False
    nulls_last: bool = False

    def ordered(self, expression: Any) -> Any:
        ordered = expression.desc() if self.descending else expression.asc()
        return ordered.nulls_last() if self.nulls_last else ordered


def statement(query: SearchQuery, dialect: str, bm25: Bm25Totals | None = None) -> Select[Any]:
    """The SELECT of a query for ``dialect`` ("sqlite" or "postgresql").

    ``bm25``: on SQLite, the totals of the query's word (:func:`bm25_totals`); given, a
    ranked one-word page is scored from the term index alone (:mod:`.pubsub_fts_bm25`),
    else by FTS5's ``bm25()`` over the word's matches (the same order).

    Two steps in one statement, so that a page costs what its ranking costs and not what
    its rows cost: an inner *page* query picks the ids of the page (the filters, the sort,
    OFFSET/LIMIT), reading only what those need; the outer query then reads the columns
    of these rows alone (parsed data, payload, node, profile). A ranked full-text search
    with no other condition is a top-k on the index alone: on SQLite the FTS5 table
    without any join (bm25 and the sort inside SQLite's top-N sorter, the items read only
    for the page), on PostgreSQL the items table without the node and profile joins.
    """
    keys = _sort_keys(query, dialect)
    page = _page(query, dialect, keys, bm25).subquery("page")
    columns: list[Any] = [PubsubItem.name, PubsubItem.parsed, PubsubNode.service, PubsubNode.name.label("node"),
                          Profile.name.label("profile")]
    if query.with_payload:
        columns.append(PubsubItem.data)
    return select(*columns).select_from(page).join(PubsubItem, PubsubItem.id == page.c.id).join(
        PubsubNode, PubsubItem.node_id == PubsubNode.id).join(Profile, PubsubNode.profile_id == Profile.id).order_by(
        *(key.ordered(page.c[f"sort_{index}"]) for index, key in enumerate(keys)), page.c.id.asc())


def _page(query: SearchQuery, dialect: str, keys: list[_SortKey], bm25: Bm25Totals | None) -> Select[Any]:
    """The ids of the page's items, with the values they are sorted by (``sort_N``)."""
    if bm25 is not None and dialect == "sqlite":
        scored = _term_candidates(query, dialect, with_counts=True)
        if scored is not None:
            return _scored_page(query, scored.subquery("candidates"), bm25, keys)
    on_fts_only = (dialect == "sqlite" and query.fts is not None and not query.parsed
                   and all(key.order == "rank" for key in query.order_by))
    fts = table(FTS_TABLE, column("rowid"))
    item_id: Any = fts.c.rowid if on_fts_only else PubsubItem.id
    sort_values = [key.expression.label(f"sort_{index}") for index, key in enumerate(keys)]
    selection = select(item_id.label("id"), *sort_values)
    by_terms = _term_candidates(query, dialect)
    if by_terms is not None:
        # the page is ranked among the candidates only (they meet every filter), by the
        # same function and sort; on SQLite from the FTS5 table alone, "+ 0": see below
        if dialect == "sqlite":
            item_id = fts.c.rowid
            selection = select(item_id.label("id"), *sort_values).select_from(fts).where(
                (item_id + literal_column("0")).in_(by_terms))
        else:
            selection = selection.select_from(PubsubItem).where(item_id.in_(by_terms))
    elif on_fts_only:
        selection = selection.select_from(fts)
        items = _filtered_items(query, select(PubsubItem.id))
        if items is not None:
            # "+ 0": a plain rowid IN (…) would be handed to FTS5, which then runs the
            # MATCH once per listed id; this way the ids are a list SQLite checks each
            # match against (≈90 ms instead of ≈125 with a join, 92k matches in a node)
            selection = selection.where((fts.c.rowid + literal_column("0")).in_(items))
    else:
        selection = selection.select_from(PubsubItem)
        if dialect == "sqlite" and query.fts is not None:
            selection = selection.join(fts, fts.c.rowid == PubsubItem.id)
        filtered = _filtered_items(query, selection)
        selection = selection if filtered is None else filtered
    if query.fts is not None:
        if dialect == "sqlite":
            selection = selection.where(literal_column(FTS_TABLE).op("MATCH")(bindparam("fts", query.fts.fts5())))
        else:
            selection = selection.where(_pg_vector().op("@@")(_pg_tsquery(query.fts)))
    for item in query.parsed if by_terms is None else ():
        selection = selection.where(pubsub_json_filters.condition(dialect, item.path, item.op, item.value))
    # a stable order, so that pages do not overlap
    return selection.order_by(*(key.ordered(value) for key, value in zip(keys, sort_values)), item_id.asc()).offset(
        query.index).limit(query.limit)


def _scored_page(query: SearchQuery, scored: Any, bm25: Bm25Totals, keys: list[_SortKey]) -> Select[Any]:
    """The page of a ranked one-word search on SQLite, scored from the term index: every
    sort key is the rank (the term index serves no other order)."""
    rank = pubsub_fts_bm25.score(bm25, scored.c.occurrences, scored.c.length)
    sort_values = [rank.label(f"sort_{index}") for index in range(len(keys))]
    return select(scored.c.item_id.label("id"), *sort_values).order_by(
        *(key.ordered(value) for key, value in zip(keys, sort_values)), scored.c.item_id.asc()).offset(
        query.index).limit(query.limit)


async def bm25_totals(session: AsyncSession, query: SearchQuery) -> Bm25Totals | None:
    """On SQLite, what scoring a ranked one-word page from the term index needs; None
    for a query the term index does not serve."""
    if query.fts is None or _term_word(query) is None:
        return None
    return await pubsub_fts_bm25.read_totals(session, query.fts.fts5())


def _term_word(query: SearchQuery) -> str | None:
    """The word of a ranked one-word search the term index serves; None: the query
    needs the full ranking."""
    if query.fts is None or not all(key.order == "rank" and key.descending for key in query.order_by):
        return None
    return pubsub_fts_terms.usable(query.fts, query.index + query.limit)


def _term_candidates(query: SearchQuery, dialect: str, with_counts: bool = False) -> Select[Any] | None:
    """The items among which the page of a ranked one-word search is (best first, all
    filters met), from the term index (:mod:`.pubsub_fts_terms`); None: the query needs
    the full ranking."""
    word = _term_word(query)
    if word is None:
        return None
    conditions = [pubsub_json_filters.condition(dialect, item.path, item.op, item.value) for item in query.parsed]
    if query.names:
        conditions.append(PubsubItem.name.in_(query.names))

    def item_filter(item_id: Any) -> Any:
        # the item of a term row, its own FROM (never the page's pubsub_items)
        return select(PubsubItem.id).where(PubsubItem.id == item_id, *conditions).correlate_except(
            PubsubItem).exists()

    return pubsub_fts_terms.candidates(word, query.index + query.limit, dialect, _filtered_nodes(query),
                                       item_filter if conditions else None, with_counts)


def _filtered_nodes(query: SearchQuery) -> Select[Any] | None:
    """The ids of the nodes the profile, service, node, type and subtype filters keep, or
    None when the query has none of them."""
    node_filters = _node_filters(query)
    if not any(values for values, _ in node_filters):
        return None
    selection = select(PubsubNode.id).join(Profile, PubsubNode.profile_id == Profile.id)
    for values, target in node_filters:
        if values:
            selection = selection.where(target.in_(values))
    return selection


def _node_filters(query: SearchQuery) -> tuple[tuple[tuple[str, ...], Any], ...]:
    """The query's node filters: (values, the column they are compared with)."""
    return ((query.profiles, Profile.name), (query.services, PubsubNode.service), (query.nodes, PubsubNode.name),
            (query.types, PubsubNode.type), (query.subtypes, PubsubNode.subtype))


def _filtered_items(query: SearchQuery, selection: Select[Any]) -> Select[Any] | None:
    """``selection`` (over ``pubsub_items``) with the node, profile and name filters, or
    None when the query has none."""
    node_filters = _node_filters(query)
    if not query.names and not any(values for values, _ in node_filters):
        return None
    if any(values for values, _ in node_filters):
        # every item has a node and every node a profile (non-null foreign keys): these
        # joins only filter, so they are made only when a filter needs them
        selection = selection.join(PubsubNode, PubsubItem.node_id == PubsubNode.id).join(
            Profile, PubsubNode.profile_id == Profile.id)
    for values, target in (*node_filters, (query.names, PubsubItem.name)):
        if values:
            selection = selection.where(target.in_(values))
    return selection


def _sort_keys(query: SearchQuery, dialect: str) -> list[_SortKey]:
    """The sort of a query (its ``order-by``, else best rank first or newest first)."""
    order_by = query.order_by or (OrderKey("rank", descending=True) if query.fts is not None
                                  else OrderKey("creation", descending=True),)
    keys: list[_SortKey] = []
    for key in order_by:
        if key.path is not None:
            location = pubsub_json_filters.JsonPath(dialect, key.path)
            keys.extend(_SortKey(value, key.descending, nulls_last=True) for value in location.sort_values())
        elif key.order == "rank":
            assert query.fts is not None  # checked by SearchQuery.from_json
            keys.append(_SortKey(_rank(query.fts, dialect), key.descending))
        else:
            target = {"creation": PubsubItem.created, "modification": PubsubItem.updated,
                      "item_id": PubsubItem.name}[key.order or ""]
            keys.append(_SortKey(target, key.descending))
    return keys


def _rank(fts: FtsQuery, dialect: str) -> Any:
    """Higher is better on both databases."""
    if dialect == "sqlite":
        return -func.bm25(literal_column(FTS_TABLE))  # bm25: lower is better
    # 1: divided by 1 + log(length), as bm25 weighs length
    return func.ts_rank(_pg_vector(), _pg_tsquery(fts), 1)


def _pg_vector() -> Any:
    return literal_column(f"{ITEMS_TABLE}.{PG_VECTOR}")  # generated, not a model column


def _pg_tsquery(fts: FtsQuery) -> Any:
    return func.to_tsquery(literal_column("'simple'"), bindparam("fts", fts.tsquery()))


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One item a search found: where it comes from, its parsed data (None: none) and,
    if the query asked for it, its raw XML."""

    item_id: str
    service: str
    node: str
    profile: str
    parsed: dict[str, Any] | None
    payload: str | None = None


async def search(storage: Storage, query: SearchQuery) -> list[SearchHit]:
    """Run a search: the items of the page asked for, in the query's order.

    :raises InvalidArgument: the database refused the full-text query (not expected:
        terms are quoted; kept so that no query can ever become a ``Database`` error).
    """
    dialect = "sqlite" if storage.is_sqlite else "postgresql"
    async with storage.session() as session:
        if dialect == "postgresql":
            # asyncpg prepares each statement, and after five runs PostgreSQL may keep a
            # generic plan, made without the words (a common word or a rare one: the
            # same plan) nor the page size: a ranked page at 100k items then took ≈160 ms
            # instead of ≈65. Planning with the values costs a fraction of a millisecond.
            await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        try:
            totals = await bm25_totals(session, query) if dialect == "sqlite" else None
            rows = (await session.execute(statement(query, dialect, totals))).all()
        except DBAPIError as exc:
            message = str(exc.orig)
            if "fts5" in message or "tsquery" in message:
                raise InvalidArgument(f"fts: the query cannot be run ({message.splitlines()[0]})") from None
            raise
    return [SearchHit(row.name, row.service, row.node, row.profile,
                      row.parsed if isinstance(row.parsed, dict) else None,
                      row.data if query.with_payload else None) for row in rows]
