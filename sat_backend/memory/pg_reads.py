"""Short reads on PostgreSQL run by asyncpg itself, beside SQLAlchemy.

SQLAlchemy's async execution of a statement (a greenlet switch, an execution context, a
cursor adapter, a result and its rows) costs ≈120 µs of CPU per statement on our
machine, asyncpg's own execution of the same prepared statement ≈35 µs (issue 14: "one
DB round trip ≤ 0.2 ms", the param read). :class:`PgStatement` compiles a Core select
once for SQLAlchemy's asyncpg dialect: its SQL text (``$n`` placeholders), the order of
its bound values and their conversions, the names of its columns and, learned from the
server once, their conversions; the Core statement stays the one source of SQL, and a
row comes out as SQLAlchemy would give it (same values, same attribute names).

:func:`fetch_rows` runs one on an asyncpg connection that SQLAlchemy opened, so its type
codecs are SQLAlchemy's (JSON decoded by the codec, as SQLAlchemy reads it). asyncpg
prepares each statement once per connection (its own statement cache, which also
prepares again a statement the server invalidated). Driver errors come out as
SQLAlchemy's :class:`~sqlalchemy.exc.DBAPIError` (without the bound values), as they
would through SQLAlchemy. Only statements built once (module constants, cached
builders) belong here: each one's compiled form is kept while it lives.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError

Conversion = Callable[[Any], Any]

_DIALECT: Dialect = asyncpg_dialect()


class PgStatement:
    """A Core select compiled once for asyncpg (see the module's docstring)."""

    def __init__(self, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self._compiled = compiled
        self.sql = compiled.string
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        binds = compiled.binds
        #: a bound value given by the statement itself (a literal), not at execution
        self._fixed = {name: bind.effective_value for name, bind in binds.items()
                       if not bind.required and bind.callable is None}
        self._bind_conversions = [
            (index, conversion) for index, name in enumerate(self._names)
            if (conversion := binds[name].type._cached_bind_processor(_DIALECT)) is not None
        ]
        self._expanding = any(bind.expanding for bind in binds.values())
        columns = compiled._result_columns
        self._types = [column.type for column in columns]
        row_type = namedtuple("Row", [column.keyname for column in columns], rename=True)  # type: ignore[misc]
        #: a row of the statement's column names from a sequence of values
        self.make_row: Callable[[Sequence[Any]], Any] = row_type._make
        #: conversions of the columns by position (None: not learned yet, see :meth:`learn_columns`)
        self.column_conversions: list[tuple[int, Conversion]] | None = None

    def query(self, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL text and the positional arguments for ``values`` (bound parameters by name)."""
        if self._expanding:  # an ``IN`` of a list: one placeholder per value
            state = self._compiled.construct_expanded_state(dict(values))
            arguments = list(state.positional_parameters)
            for index, name in enumerate(state.positiontup or ()):
                conversion = state.processors.get(name)
                if conversion is not None:
                    arguments[index] = conversion(arguments[index])
            return state.statement, arguments
        given = {**self._fixed, **values} if self._fixed else values
        try:
            arguments = [given[name] for name in self._names]
        except KeyError as exc:  # as SQLAlchemy says it
            raise InvalidRequestError(f"A value is required for bind parameter {exc.args[0]!r}") from None
        for index, conversion in self._bind_conversions:
            arguments[index] = conversion(arguments[index])
        return self.sql, arguments

    def learn_columns(self, type_oids: Sequence[int]) -> None:
        """The conversions of the columns, for the server's types of them (``oid``s): as
        SQLAlchemy, which picks some by the driver's type (numbers)."""
        self.column_conversions = [
            (index, conversion) for index, (type_, oid) in enumerate(zip(self._types, type_oids))
            if (conversion := type_._cached_result_processor(_DIALECT, oid)) is not None
        ]

    def rows(self, records: Sequence[Any]) -> list[Any]:
        """Rows (named tuples) of the driver's records, their values converted."""
        make = self.make_row
        if not self.column_conversions:
            return [make(record) for record in records]
        conversions = self.column_conversions
        rows = []
        for record in records:
            values = list(record)
            for index, conversion in conversions:
                values[index] = conversion(values[index])
            rows.append(make(values))
        return rows


_compiled: weakref.WeakKeyDictionary[Select[Any], PgStatement] = weakref.WeakKeyDictionary()


def pg_statement(statement: Select[Any]) -> PgStatement:
    """The statement compiled for asyncpg, once while it lives."""
    compiled = _compiled.get(statement)
    if compiled is None:
        compiled = _compiled[statement] = PgStatement(statement)
    return compiled


async def fetch_rows(driver: Any, statement: Select[Any], values: Mapping[str, Any]) -> list[Any]:
    """The rows of ``statement`` run on ``driver`` (an asyncpg connection SQLAlchemy made).

    :raises DBAPIError: the driver failed (its exception as ``orig``).
    """
    compiled = pg_statement(statement)
    sql, arguments = compiled.query(values)
    try:
        if compiled.column_conversions is None:
            prepared = await driver.prepare(sql)
            compiled.learn_columns([attribute.type.oid for attribute in prepared.get_attributes()])
            records = await prepared.fetch(*arguments)
        else:
            records = await driver.fetch(sql, *arguments)
    except Exception as exc:  # every driver failure, as SQLAlchemy reports it
        raise DBAPIError(sql, None, exc, hide_parameters=True) from exc
    return compiled.rows(records)
