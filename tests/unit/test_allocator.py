"""The daemon's allocator thresholds: large buffers made and freed again and again (a
big answer's text, reply string and D-Bus message) reuse heap pages instead of faulting
fresh ones in every time (glibc trims the heap top, or maps such blocks on their own)."""

from __future__ import annotations

import resource
import subprocess
import sys

#: run in a fresh interpreter: the thresholds are process-wide and glibc adjusts its own
#: as blocks are freed, so the test's process would not show the default behaviour
ROUNDS_OF_BUFFERS = """
import resource, sys
from sat_backend.core.allocator import keep_large_buffers
if sys.argv[1] == "tuned":
    assert keep_large_buffers()
def rounds():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        buffers = [bytearray(512 * 1024) for _ in range(4)]  # zero-filled: every page touched
        del buffers
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
rounds()
print(rounds())
"""


def _page_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", ROUNDS_OF_BUFFERS, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_large_buffers_reuse_heap_pages() -> None:
    every_page = 50 * 4 * 512 * 1024 // resource.getpagesize()
    assert _page_faults("default") > every_page // 2  # what the daemon paid on every answer
    assert _page_faults("tuned") < every_page // 20
