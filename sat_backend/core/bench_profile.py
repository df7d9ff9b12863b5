"""A CPU profile of the running daemon, for benchmarks only (issue 14).

With ``$SAT_BENCH_CPROFILE`` naming a file, ``SIGUSR1`` starts :mod:`cProfile` on the
main thread with a CPU clock (``time.thread_time``: a sampling profiler counts the time
the process waits to be scheduled on a loaded machine too) and ``SIGUSR2`` stops it and
writes its statistics there (``pstats`` format), so a bench profiles exactly the part it
measures. Without the variable nothing is installed: a user's daemon keeps the default
meaning of both signals.
"""

from __future__ import annotations

import cProfile
import os
import signal
import time
from types import FrameType

ENV = "SAT_BENCH_CPROFILE"


def install() -> None:
    """Arm the two signals when ``$SAT_BENCH_CPROFILE`` is set."""
    path = os.environ.get(ENV)
    if not path:
        return
    profiler = cProfile.Profile(time.thread_time)

    def start(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(path)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
