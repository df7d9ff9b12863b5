"""The ORM classes of :mod:`.sqla_mapping`, imported when first used.

``sqlalchemy.orm`` with the declarative classes costs ~80 ms of CPU to import, and a
start needs neither: its statements are Core, on :mod:`.tables` (doc/developer.rst,
start). Storage modules name the classes ``orm.History``: typed as the module's (mypy
reads the import below), the mapping is imported by the first attribute read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sat_backend.core.lazy_import import lazy_module

MAPPING = "sat_backend.memory.sqla_mapping"

if TYPE_CHECKING:
    from sat_backend.memory import sqla_mapping as orm
else:
    orm = lazy_module(MAPPING)

__all__ = ["orm"]
