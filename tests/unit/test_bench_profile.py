"""The benchmarks' CPU profile of the daemon: armed only by its variable, and the two
signals start it, then write what ran in between."""

from __future__ import annotations

import os
import pstats
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from sat_backend.core import bench_profile


@pytest.fixture
def default_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGUSR1, signal.SIGUSR2)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def profiled_work() -> int:
    return sum(index * index for index in range(20_000))


def test_nothing_installed_without_the_variable(monkeypatch: pytest.MonkeyPatch, default_handlers: None) -> None:
    monkeypatch.delenv(bench_profile.ENV, raising=False)
    before = signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGUSR2)
    bench_profile.install()
    assert (signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGUSR2)) == before


def test_signals_start_then_write_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              default_handlers: None) -> None:
    output = tmp_path / "daemon.prof"
    monkeypatch.setenv(bench_profile.ENV, str(output))
    bench_profile.install()
    os.kill(os.getpid(), signal.SIGUSR1)
    profiled_work()
    os.kill(os.getpid(), signal.SIGUSR2)
    names = {name for _, _, name in pstats.Stats(str(output)).stats}  # type: ignore[attr-defined]
    assert "profiled_work" in names
