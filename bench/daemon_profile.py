"""``--cprofile FILE`` for the benches that drive a live daemon: a CPU profile of its main
thread over exactly the part a bench measures (``sat_backend/core/bench_profile.py``,
armed by ``$SAT_BENCH_CPROFILE`` when the daemon starts, driven by SIGUSR1/SIGUSR2)."""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sat_backend.core import bench_profile


def add_option(parser: argparse.ArgumentParser, part: str) -> None:
    """The ``--cprofile FILE`` option; ``part`` says what the profile covers."""
    parser.add_argument("--cprofile", metavar="FILE",
                        help=f"write a CPU profile (pstats) of the backend's main thread over {part} to FILE")


def arm(path: str | None) -> None:
    """Before the daemon starts: have it install the profiler (when ``path`` is given)."""
    if path:
        os.environ[bench_profile.ENV] = str(Path(path).resolve())


@contextmanager
def profiled(pid: int, path: str | None) -> Iterator[None]:
    """The daemon ``pid`` profiled over the block (when ``path`` is given). Successive
    blocks add up: the file holds them all once the last one ends."""
    if path:
        os.kill(pid, signal.SIGUSR1)
    try:
        yield
    finally:
        if path:
            os.kill(pid, signal.SIGUSR2)
