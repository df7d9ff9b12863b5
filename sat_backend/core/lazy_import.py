"""Modules imported by the first read of one of their attributes (issue 14).

A start imports what it needs before its bus name is owned, and no more: a module only
a later call uses (the ORM, the SDP model of a call) is named through
:func:`lazy_module` and typed as itself under ``TYPE_CHECKING``::

    if TYPE_CHECKING:
        from sat_backend.plugins.jingle import sdp
    else:
        sdp = lazy_module("sat_backend.plugins.jingle.sdp")

``sdp.parse_sdp(...)`` then imports the module the first time, and is a plain attribute
read afterwards. :func:`lazy_instance` does the same for an object made from such a
module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar, cast

T = TypeVar("T")


class _LazyModule(ModuleType):
    """Stands for a module until an attribute of it is read."""

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # later reads are plain attribute reads
        return getattr(module, name)


def lazy_module(name: str) -> ModuleType:
    """A stand-in for module ``name`` that imports it at the first attribute read."""
    return _LazyModule(name)


class _LazyInstance:
    """Stands for an object until an attribute of it is read: then it is made, once."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:  # only for what is not the stand-in's own
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)


def lazy_instance(make: Callable[[], T]) -> T:
    """A stand-in for ``make()``, called at the first attribute read: for an object that
    pieces made at start are given, whose class's module a start must not import (its
    storage builds SQLAlchemy statements at import)."""
    return cast(T, _LazyInstance(make))
