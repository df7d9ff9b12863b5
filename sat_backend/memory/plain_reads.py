"""Selects run as plain SQL on a stdlib ``sqlite3`` connection, without SQLAlchemy.

A start on an SQLite file reads a few rows before it is ready (the stored revision, the
nodes left mid-sync, the profiles and their params): run through SQLAlchemy, each one
pays for its engine, its compilation and its result machinery, several times the
statement (issue 14). :class:`PlainRead` holds what SQLAlchemy would have done with one
of those Core selects, compiled once by :mod:`.start_sql_render` into the generated
:mod:`.start_sql`: the SQL text, the fixed values of its literals, its column names and
the conversions of the columns whose type has one. The Core statements stay the source
of the SQL: ``make check-generated`` fails when they compile to anything else.

This module imports no SQLAlchemy, nor may it.
"""

from __future__ import annotations

import enum
import importlib
import json
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

#: a column's conversion from what SQLite returns to what SQLAlchemy's type returns
JSON = "json"
BOOLEAN = "bool"
#: followed by the enum's ``module:qualified.Name``: the stored string is the member's value
ENUM = "enum:"


@dataclass(frozen=True, slots=True)
class PlainRead:
    """One select compiled for SQLite: run by :meth:`rows` on a ``sqlite3`` connection,
    it returns what SQLAlchemy would (rows whose attributes are the column names)."""

    #: the name of the Core statement it was compiled from (``start_statements.READS``)
    name: str
    #: the SQL text, with ``:name`` placeholders
    sql: str
    columns: tuple[str, ...]
    #: the names of the values a caller binds
    binds: tuple[str, ...] = ()
    #: the values of the statement's own literals, as stored (bound by name)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    #: (column index, conversion) of the columns whose type converts what is stored
    conversions: tuple[tuple[int, str], ...] = ()

    def rows(self, connection: sqlite3.Connection, values: Mapping[str, Any]) -> list[Any]:
        """The select's rows for the bound ``values`` (keys: the Core bind names).

        :raises MissingValue: a value of :attr:`binds` is not in ``values``.
        """
        try:
            cursor = connection.execute(self.sql, {**self.fixed, **values} if self.fixed else values)
        except sqlite3.ProgrammingError:
            missing = [name for name in self.binds if name not in values]
            if missing:  # in SQLAlchemy's words, as a Core execution says it
                raise MissingValue(f"A value is required for bind parameter {missing[0]!r}") from None
            raise
        try:
            found = cursor.fetchall()
        finally:
            cursor.close()
        make_row = _row_class(self.columns)
        if not self.conversions:
            return [make_row(*row) for row in found]
        converters = [(index, _converter(kind)) for index, kind in self.conversions]
        converted = []
        for row in found:
            values_of_row = list(row)
            for index, convert in converters:
                if values_of_row[index] is not None:
                    values_of_row[index] = convert(values_of_row[index])
            converted.append(make_row(*values_of_row))
        return converted


class MissingValue(sqlite3.ProgrammingError):
    """A value the statement binds was not given."""


def _json(value: Any) -> Any:
    """SQLAlchemy's JSON on SQLite: a number is stored as one (the column's affinity is
    numeric), and read back as it is."""
    return value if isinstance(value, (int, float)) else json.loads(value)


@cache
def _row_class(columns: tuple[str, ...]) -> type:
    """A named tuple of ``columns``: rows read as SQLAlchemy's (``row.name``, ``row[0]``)."""
    return namedtuple("PlainRow", columns, rename=True)  # type: ignore[misc]


@cache
def _converter(kind: str) -> Callable[[Any], Any]:
    if kind == JSON:
        return _json
    if kind == BOOLEAN:
        return bool
    if kind.startswith(ENUM):
        module, _, name = kind[len(ENUM):].partition(":")
        enum_class: Any = importlib.import_module(module)
        for part in name.split("."):
            enum_class = getattr(enum_class, part)
        assert issubclass(enum_class, enum.Enum), kind
        return enum_class  # type: ignore[no-any-return]
    raise ValueError(f"unknown column conversion {kind!r}")


__all__ = ["BOOLEAN", "ENUM", "JSON", "MissingValue", "PlainRead"]
