"""Figures a bench hands to ``run_all.py``: one JSON object per line, appended to the file
named by ``$SAT_BENCH_RECORD`` (nothing when it is unset, as when a bench is run alone), so
the table is built from the figures themselves, not from scraping the printed text."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

ENV = "SAT_BENCH_RECORD"


def record(key: str, value: float | None, **labels: object) -> None:
    """Append one figure; ``labels`` say where it was measured (backend, size, ...)."""
    path = os.environ.get(ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"key": key, "value": value, **labels}) + "\n")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, its threads that ended included, in
    seconds: unlike the wall time, it hardly moves when other work shares the machine.

    Read from the process's CPU clock (Linux: any process's clock id is derived from its
    pid, ``clock_getcpuclockid``), which counts nanoseconds; ``/proc/PID/stat`` counts
    clock ticks of 10 ms, ±3 % of a 1,000-item ingest run's ~0.35 s, and is the fallback.
    """
    try:
        return time.clock_gettime(_process_cpu_clock(pid))
    except OSError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_cpu_clock(pid: int) -> int:
    """The clock id of a process's CPU time: ``MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)``
    of the Linux kernel, what glibc's ``clock_getcpuclockid`` returns."""
    return ((~pid) << 3) | 2


def child_processes(parent: int) -> list[int]:
    """The live processes whose parent is ``parent`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):  # ended meanwhile
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def run_and_wait_seconds(pid: int) -> tuple[float, float]:
    """Time the live threads of a process spent on a CPU, and waiting on a run queue
    (runnable, not running: what a shared machine adds to each hand-off between
    processes), in seconds (Linux ``schedstat``, in ns): as :func:`cpu_seconds`, but fine
    enough for a few reads of a few ms (the clock ticks of ``stat`` are 10 ms)."""
    run = wait = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "schedstat").read_text().split()
        run, wait = run + int(fields[0]), wait + int(fields[1])
    return run / 1e9, wait / 1e9


def rss_mb(pid: int) -> float | None:
    """Resident set size of a live process in MB (Linux /proc), ``None`` where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
