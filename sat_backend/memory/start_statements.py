"""The Core selects a start on an SQLite file runs before it is ready, by name.

They are the source of the SQL :mod:`.start_sql` holds, compiled by
:mod:`.start_sql_render` (``python -m sat_bridge.generate``; ``make check-generated``
fails when the two differ): the stored revision, the nodes a stop left mid-sync, and
what a frontend's first calls read (the profiles, their ids and params, a private
value). On an SQLite file :meth:`InLoopDatabase.rows` runs them as their
:class:`~.plain_reads.PlainRead` on a plain ``sqlite3`` connection (see
doc/developer.rst, start); elsewhere they stay Core statements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from sat_backend.memory import migration
from sat_backend.memory import short_statements as sql
from sat_backend.memory.tables import params_general, params_individual, private_general, private_individual

READS: dict[str, Select[Any]] = {
    "REVISION": migration.REVISION,
    "NODES_MID_SYNC": sql.NODES_MID_SYNC,
    "PROFILE_NAMES": sql.PROFILE_NAMES,
    "PROFILE_ID": sql.PROFILE_ID,
    "PROFILE": sql.PROFILE,
    "PROFILE_PARAMS": sql.PROFILE_PARAMS,
    "PARAM_GENERAL": sql.READ_VALUE[params_general],
    "PARAM_INDIVIDUAL": sql.READ_VALUE[params_individual],
    "PRIVATE_GENERAL": sql.READ_VALUE[private_general],
    "PRIVATE_INDIVIDUAL": sql.READ_VALUE[private_individual],
}


__all__ = ["READS"]
