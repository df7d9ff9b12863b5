"""The parts of a database URL a start needs, read without SQLAlchemy on SQLite.

``sqlalchemy.engine.make_url`` is the reference, but importing SQLAlchemy is most of
what a start on an SQLite file would import for storage (issue 14): the backend's
name and the file of an SQLite URL are read here by hand, as ``make_url`` reads them
(``tests/unit/test_database_url.py`` compares). Any other URL, or an SQLite one with a
query string, is read by ``make_url`` at once.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import URL


class DatabaseUrl:
    """A database URL: :attr:`backend` and :attr:`database` (the file of an SQLite
    URL, None for an in-memory one), and SQLAlchemy's URL when it is first needed."""

    def __init__(self, text: str) -> None:
        self.text = text
        scheme, separator, rest = text.partition("://")
        backend = scheme.partition("+")[0]
        if backend == "sqlite" and separator and "?" not in rest and "@" not in rest:
            self.backend = backend
            #: ``sqlite:///a.db`` → ``a.db``, ``sqlite:////a.db`` → ``/a.db``, ``sqlite://`` → None
            self.database: str | None = rest[1:] if rest.startswith("/") else (rest or None)
        else:
            self.backend = self.sqlalchemy_url.get_backend_name()
            self.database = self.sqlalchemy_url.database

    @cached_property
    def sqlalchemy_url(self) -> URL:
        """SQLAlchemy's reading of the URL (imports SQLAlchemy)."""
        from sqlalchemy.engine import make_url

        return make_url(self.text)


__all__ = ["DatabaseUrl"]
