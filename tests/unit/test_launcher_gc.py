"""The launcher pauses the garbage collector during the start only (issue 14)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sat_backend.core.launcher import pause_gc_for_start, resume_gc_after_start


@pytest.fixture
def restored_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("restored_gc")
def test_the_collector_is_off_during_the_start_and_on_after_with_the_start_frozen() -> None:
    pause_gc_for_start()
    assert not gc.isenabled()
    start_objects = [[] for _ in range(10)]  # tracked by the collector
    resume_gc_after_start()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(start_objects)
