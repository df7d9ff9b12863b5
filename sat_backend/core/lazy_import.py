"""Modules imported by the first read of one of their attributes (issue 14).

A start imports what it needs before its bus name is owned, and no more: a module only
a later call uses (the ORM, the SDP model of a call) is named through
:func:`lazy_module` and typed as itself under ``TYPE_CHECKING``::

    if TYPE_CHECKING:
        from sat_backend.plugins.jingle import sdp
    else:
        sdp = lazy_module("sat_backend.plugins.jingle.sdp")

``sdp.parse_sdp(...)`` then imports the module the first time, and is a plain attribute
read afterwards.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands for a module until an attribute of it is read."""

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # later reads are plain attribute reads
        return getattr(module, name)


def lazy_module(name: str) -> ModuleType:
    """A stand-in for module ``name`` that imports it at the first attribute read."""
    return _LazyModule(name)
