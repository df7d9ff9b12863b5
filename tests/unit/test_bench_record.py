"""bench/record.py's CPU time of a process, read from its CPU clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.record import cpu_seconds


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_process_cpu_time_is_its_own_cpu_clock() -> None:
    _spin(0.01)
    before = time.process_time()
    measured = cpu_seconds(os.getpid())
    after = time.process_time()
    assert before <= measured <= after


def test_another_process_cpu_time_agrees_with_its_proc_ticks() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 0.3\n"
                              "while time.process_time() < end: pass\nprint('spun', flush=True)\ninput()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"spun\n"  # its busy loop is over: it now waits on its stdin
        fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        from_ticks = (int(fields[11]) + int(fields[12])) / ticks
        measured = cpu_seconds(child.pid)
        assert measured >= 0.3
        assert abs(measured - from_ticks) <= 2 / ticks  # the ticks' rounding, at most
    finally:
        child.communicate(b"\n", timeout=10)


def test_a_process_that_is_gone_has_no_cpu_time() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(OSError):
        cpu_seconds(child.pid)
