"""The start's check of an SQLite file already at the schema's head, without SQLAlchemy.

Nearly every start finds the database it left: one read of the stored revision on a
plain ``sqlite3`` connection tells, where SQLAlchemy's engine, its inspector and a
compiled statement cost several times the read (issue 14). Every other case (no file
yet, no version table, an older or unknown revision, not SQLite at all) is left to
:meth:`Storage._prepare_file <sat_backend.memory.sqla.Storage>`, which creates,
migrates or refuses it as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sat_backend.memory import start_sql
from sat_backend.memory.schema_revisions import head_revision


def is_at_head(database: str, on_connect: Callable[[Any, Any], None]) -> bool:
    """Whether the SQLite file ``database`` holds our schema at its head; if so, its
    journal is switched to WAL (kept in the file), as after a creation or migration.

    :param on_connect: what every connection of the engines runs first (foreign keys…).
    """
    if not Path(database).is_file():
        return False
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        on_connect(connection, None)
        try:
            stored = start_sql.REVISION.rows(connection, {})
        except sqlite3.DatabaseError:  # no version table, not a database: checked the long way
            return False
        if [row.version_num for row in stored] != [head_revision()]:
            return False
        connection.execute("PRAGMA journal_mode=WAL")
        return True
    finally:
        connection.close()


__all__ = ["is_at_head"]
