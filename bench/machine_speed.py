"""A fixed CPU reference for reading bench figures taken on a shared machine.

On the 2-core machine of issue 14 the same start used 390 ms of CPU in one ``make bench``
run and 520-630 ms in the next, at the same load: the machine itself ran slower, not the
code. This reference, the CPU time of a fixed pure-Python workload (interpreter-bound,
like the backend's own work), is printed before and after the benches. It moves within
seconds too (79 then 154 ms, a minute apart, at load 0.7-0.9), so it cannot correct a
figure; a reference far from its usual ~80 ms says that run's CPU-bound figures are
suspect, and a change is measured in pairs, in turns, as the notes do.
"""

from __future__ import annotations

import time

#: iterations of the workload: ~50-80 ms of CPU on that machine
WORKLOAD = 300_000
#: the best of this many: the least moved by other load
TRIES = 5


def _workload() -> int:
    """Dict, string and integer work, as an interpreter runs for the backend."""
    table: dict[str, int] = {}
    total = 0
    for index in range(WORKLOAD):
        key = f"k{index % 1000}"
        table[key] = table.get(key, 0) + index
        total += len(key)
    return total + len(table)


def reference_ms() -> float:
    """CPU milliseconds of the workload, best of :data:`TRIES`."""
    best = float("inf")
    for _ in range(TRIES):
        started = time.process_time()
        _workload()
        best = min(best, time.process_time() - started)
    return best * 1e3


if __name__ == "__main__":
    print(f"machine speed reference: {reference_ms():.1f} ms of CPU (lower is faster)")
