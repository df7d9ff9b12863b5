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
    for name in ("tabnanny", "pyclbr", "filecmp", "sndhdr", "imghdr", "netrc", "mailcap"):
        if name not in sys.modules:
            return name
    raise AssertionError("every candidate module is loaded already")


def test_a_module_loaded_since_the_last_freeze_freezes_the_heap_once() -> None:
    try:
        frozen_heap.freeze()
        assert frozen_heap.freeze_if_modules_were_loaded() is False  # nothing new: no freeze
        frozen_before = gc.get_freeze_count()
        module = importlib.import_module(not_loaded_stdlib_module())
        kept = [module.__name__, object()]  # an object made after the freeze, alive
        assert gc.get_freeze_count() == frozen_before
        assert frozen_heap.freeze_if_modules_were_loaded() is True
        assert gc.get_freeze_count() > frozen_before
        assert frozen_heap.freeze_if_modules_were_loaded() is False  # once per batch of imports
        assert kept
    finally:
        gc.unfreeze()
