"""The heap is frozen again after a full collection only when modules were loaded since
the last freeze: their objects live as long as the process, and every full collection
walked them (~30 ms each, issue 14); a freeze with no new module would only risk
keeping garbage."""

from __future__ import annotations

import gc
import importlib
import sys

from sat_backend.core import frozen_heap


def not_loaded_stdlib_module() -> str:
    for name in ("tabnanny", "pyclbr", "filecmp", "netrc", "sndhdr", "imghdr", "mailcap"):
        if name not in sys.modules:
            return name
    raise AssertionError("every candidate module is loaded already")


def walked_by_full_collections(obj: object) -> bool:
    """Whether ``obj`` is in a generation the collector walks (not the frozen one)."""
    return any(candidate is obj for candidate in gc.get_objects())


def test_a_module_loaded_since_the_last_freeze_freezes_the_heap_once() -> None:
    try:
        frozen_heap.freeze()
        made_after = [object()]  # a container made after the freeze: collections walk it
        assert frozen_heap.freeze_if_modules_were_loaded() is False  # nothing new: no freeze
        assert walked_by_full_collections(made_after)
        importlib.import_module(not_loaded_stdlib_module())
        assert frozen_heap.freeze_if_modules_were_loaded() is True
        assert not walked_by_full_collections(made_after)
        assert frozen_heap.freeze_if_modules_were_loaded() is False  # once per batch of imports
    finally:
        gc.unfreeze()
