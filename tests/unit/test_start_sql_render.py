"""The generator of the start's plain SQL refuses what :mod:`.plain_reads` could not
reproduce, rather than writing SQL whose rows would differ from SQLAlchemy's."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, Table, bindparam, select

from sat_backend.memory import start_sql_render
from sat_backend.memory.start_statements import READS

TABLE = Table("things", MetaData(), Column("id", Integer, primary_key=True), Column("seen", DateTime),
              Column("data", JSON))


def render(statement: object, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(start_sql_render, "READS", {"THING": statement})
    return start_sql_render.module_source()


def test_a_column_whose_conversion_plain_reads_lacks_stops_the_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="THING: column type DateTime"):
        render(select(TABLE.c.seen), monkeypatch)


def test_a_bound_value_that_needs_a_conversion_stops_the_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="THING: bound value 'data'"):
        render(select(TABLE.c.id).where(TABLE.c.data == bindparam("data", type_=JSON)), monkeypatch)


def test_every_start_read_is_generated() -> None:
    source = start_sql_render.module_source()
    assert [f"\n{name} = PlainRead(" in source for name in READS] == [True] * len(READS)
