"""Conditions and sort keys on a path of ``pubsub_items.parsed`` (JSON), on both databases.

A value is compared with values of its own JSON type only: a number in the query with
numbers (as numbers: ``10 > 9``), a string with strings, a boolean with booleans. An
item whose value at the path is missing or of another type does not match a positive
operator (``==``, ``<``, ``in``, ``like``, ``overlap`` …) and does match its negation
(``!=``, ``not_in``, ``disjoint``). No SQL error can come from the data: number casts are
guarded by the value's JSON type.

SQLite uses ``json_type`` / ``json_extract`` / ``json_each`` with a ``$."key"[0]`` path;
PostgreSQL casts the column to ``jsonb`` and uses ``#>`` / ``#>>`` with a ``text[]`` path.
Every user value and path is a bound parameter.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, Float, Text, and_, bindparam, case, cast, exists, false, func, literal, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from sat_backend.memory.sqla_mapping import PubsubItem

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import JSONB

PathPart = str | int


def _jsonb() -> type[JSONB]:
    """PostgreSQL's ``jsonb`` type, imported when first used: SQLAlchemy's PostgreSQL
    dialect is a fifth of its import time, which a start on SQLite does not need."""
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB

_SQLITE_NUMBER = ("integer", "real")


class JsonPath:
    """Typed accessors of the value at ``path`` in ``PubsubItem.parsed`` for one dialect."""

    def __init__(self, dialect: str, path: tuple[PathPart, ...]) -> None:
        self.sqlite = dialect == "sqlite"
        if self.sqlite:
            self.path: Any = bindparam(None, sqlite_path(path), type_=Text)
            self.type_name: ColumnElement[Any] = func.json_type(PubsubItem.parsed, self.path)
            raw = func.json_extract(PubsubItem.parsed, self.path)
            self.string: ColumnElement[Any] = case((self.type_name == "text", raw))
            self.number: ColumnElement[Any] = case((self.type_name.in_(_SQLITE_NUMBER), raw))
            self._text: ColumnElement[Any] = raw
        else:
            self.path = bindparam(None, [str(part) for part in path], type_=ARRAY(Text))
            jsonb = _jsonb()
            self.document = cast(PubsubItem.parsed, jsonb)
            self.location = self.document.op("#>", return_type=jsonb)(self.path)
            self._text = self.document.op("#>>", return_type=Text)(self.path)
            self.type_name = func.jsonb_typeof(self.location)
            self.string = case((self.type_name == "string", self._text))
            self.number = case((self.type_name == "number", cast(self._text, Float)))

    # scalars --------------------------------------------------------------------------------------

    def equals(self, value: Any) -> ColumnElement[bool]:
        """Equal to a JSON scalar of the same type (None: JSON null or no value)."""
        if value is None:  # JSON null, or no value at all
            return or_(self.type_name.is_(None), self.type_name == "null")
        if isinstance(value, bool):
            if self.sqlite:
                return self.type_name == ("true" if value else "false")
            return and_(self.type_name == "boolean", self._text == ("true" if value else "false"))
        if isinstance(value, str):
            return self.string == value
        return self.number == value

    def compare(self, op: str, value: str | int | float) -> ColumnElement[bool]:
        """``<``, ``<=``, ``>``, ``>=`` (strictly as named) against a string or a number."""
        column = self.string if isinstance(value, str) else self.number
        operators = {"<": column < value, "<=": column <= value, ">": column > value, ">=": column >= value}
        return operators[op]

    def like(self, pattern: str, case_sensitive: bool) -> ColumnElement[bool]:
        """SQL ``LIKE`` pattern (``%``, ``_``, ``\\`` escapes) on string values."""
        if not case_sensitive:
            return self.string.ilike(pattern, escape="\\")
        if self.sqlite:  # SQLite's LIKE ignores case: GLOB does not
            return self.string.op("GLOB")(like_to_glob(pattern))
        return self.string.like(pattern, escape="\\")

    # arrays ------------------------------------------------------------------------------------------

    def overlaps(self, values: list[Any]) -> ColumnElement[bool]:
        """The value is an array with at least one element equal to one of ``values``."""
        if not values:
            return false()
        if self.sqlite:
            elements = func.json_each(PubsubItem.parsed, self.path).table_valued("value", "type")
            matches = []
            for value in values:
                if isinstance(value, bool):
                    matches.append(elements.c.type == ("true" if value else "false"))
                elif isinstance(value, str):
                    matches.append(and_(elements.c.type == "text", elements.c.value == value))
                else:
                    matches.append(and_(elements.c.type.in_(_SQLITE_NUMBER), elements.c.value == value))
            return and_(self.type_name == "array", exists(select(literal(1)).select_from(elements).where(or_(*matches))))
        contains = [
            self.location.op("@>", return_type=_jsonb())(cast(bindparam(None, json.dumps([value]), type_=Text), _jsonb()))
            for value in values
        ]
        return and_(self.type_name == "array", or_(*contains))

    # ordering ------------------------------------------------------------------------------------------

    def sort_values(self) -> list[Any]:
        """What to sort by: numbers, then strings (NULLs last in both directions: items
        without such a value)."""
        return [self.number, self.string]


def condition(dialect: str, path: tuple[PathPart, ...], op: str, value: Any) -> ColumnElement[bool]:
    """The SQL condition of one ``parsed`` filter (already validated)."""
    location = JsonPath(dialect, path)
    if op == "==":
        return location.equals(value)
    if op == "!=":
        return negation(location.equals(value))
    if op in ("<", "<=", ">", ">="):
        return location.compare(op, value)
    if op == "between":
        low, high = value
        return and_(location.compare(">=", low), location.compare("<=", high))
    if op == "in":
        return or_(false(), *(location.equals(item) for item in value))
    if op == "not_in":
        return negation(or_(false(), *(location.equals(item) for item in value)))
    if op in ("like", "ilike"):
        return location.like(value, case_sensitive=op == "like")
    if op == "overlap":
        return location.overlaps(value)
    if op == "disjoint":
        return negation(location.overlaps(value))
    raise ValueError(f"unknown operator {op!r}")  # validation lets none through


def negation(positive: ColumnElement[bool]) -> ColumnElement[bool]:
    """NOT of a condition that may be NULL (missing value): NULL counts as "no match"."""
    return not_(func.coalesce(positive, false()))


def sqlite_path(path: tuple[PathPart, ...]) -> str:
    """``("a", 0, "b")`` → ``$."a"[0]."b"`` (keys quoted: dots or brackets in them are literal)."""
    parts = ["$"]
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else f'."{part}"')
    return "".join(parts)


def like_to_glob(pattern: str) -> str:
    """An SQL LIKE pattern (``\\`` escapes) as the equivalent, case-sensitive, GLOB one."""
    glob = []
    escaped = False
    for char in pattern:
        if escaped:
            glob.append(_glob_literal(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            glob.append("*")
        elif char == "_":
            glob.append("?")
        else:
            glob.append(_glob_literal(char))
    return "".join(glob)


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[" else char


__all__ = ["JsonPath", "condition", "like_to_glob", "negation", "sqlite_path"]
