"""The SQLite URLs a start reads by hand are read as SQLAlchemy's ``make_url`` reads them."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from sat_backend.memory.database_url import DatabaseUrl


@pytest.mark.parametrize("text", [
    "sqlite+aiosqlite:////home/me/.local/share/sat/sat.db", "sqlite+aiosqlite:///relative.db", "sqlite:///:memory:",
    "sqlite://", "sqlite+aiosqlite://", "sqlite:///a b/ü.db", "sqlite:///file.db?mode=ro",
    "postgresql+asyncpg://me:secret@localhost:5432/sat",
])
def test_backend_and_database_as_make_url_reads_them(text: str) -> None:
    url = DatabaseUrl(text)
    assert (url.backend, url.database) == (make_url(text).get_backend_name(), make_url(text).database)
