"""The ORM classes of :mod:`.sqla_mapping`, imported when first used.

``sqlalchemy.orm`` with the declarative classes costs ~80 ms of CPU to import, and a
start needs neither: its statements are Core, on :mod:`.tables` (doc/developer.rst,
start). Storage modules name the classes ``orm.History``: typed as the module's (mypy
reads the import below), the mapping is imported by the first attribute read.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

MAPPING = "sat_backend.memory.sqla_mapping"


class _LazyMapping(ModuleType):
    """Stands for the mapping module until an attribute of it is read."""

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module(MAPPING)
        self.__dict__.update(module.__dict__)  # later reads are plain attribute reads
        return getattr(module, name)


if TYPE_CHECKING:
    from sat_backend.memory import sqla_mapping as orm
else:
    orm = _LazyMapping(MAPPING)

__all__ = ["orm"]
