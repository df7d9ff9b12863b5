"""Start benchmark: exec of ``sat-backend fg`` → bus name owned → first answers, and what the start imports.

Run by hand (never in tests): ``.venv/bin/python bench/bench_start.py [--starts N]``.
Same way as ``bench_bridge.py``'s cold start (a private dbus-daemon, the real backend,
``NameHasOwner`` polled every 2 ms), on a database that already exists and is at head
(the usual start; the first start, which creates it and a profile, is printed apart).
Ready is the second line: at each start, as soon as the name is owned, a frontend's
first calls, ``ProfilesList`` then ``ParamGet`` of the profile's JID (both read storage),
timed from the exec to the answer of the second. Then one more
start under ``python -X importtime`` gives the biggest imports and tells whether the
Alembic machinery (alembic, mako, pygments) or SQLAlchemy was loaded at all.

The machine is shared: besides the wall time, the CPU time the backend used until its
name was owned is printed, which other load hardly changes. ``--source DIR`` runs the
backend from another source tree (``git archive main | tar -x -C DIR``) with
``python -S -P``, so that two versions can be compared in turns on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import sysconfig
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dbus_fast import Message, MessageType  # noqa: E402
from dbus_fast.aio import MessageBus  # noqa: E402

from bench.bench_bridge import BIN, name_owned  # noqa: E402
from bench.record import cpu_seconds, record  # noqa: E402
from tests.fixtures.dbus import PrivateBus, isolated_environment  # noqa: E402

GOAL_MS = 500
#: imported on a normal start = a regression (issue 14)
NOT_ON_START = ("alembic", "mako", "pygments", "sqlalchemy")
#: top-level packages whose cumulative import time is printed
WATCHED = ("sqlalchemy", "alembic", "mako", "pygments", "cryptography", "lxml", "regex",
           "twisted", "dbus_fast", "aiosqlite", "sat_backend", "sat_bridge")


BUS_NAME = "org.salutatoi.SAT1"
PROFILE = "bench"


async def call(bus: MessageBus, member: str, signature: str = "", body: list[Any] | None = None) -> Any:
    """One call of the backend's core interface; its answer's first value."""
    reply = await bus.call(Message(
        destination=BUS_NAME, path="/org/salutatoi/SAT1/bridge", interface="org.salutatoi.SAT1.Core",
        member=member, signature=signature, body=body or [],
    ))
    if reply is None or reply.message_type == MessageType.ERROR:
        raise SystemExit(f"{member} failed: {reply and reply.body}")
    return reply.body[0] if reply.body else None


async def timed_start(env: dict[str, str], address: str, command: list[str]) -> tuple[float, float, float]:
    """One start: seconds from the exec to the bus name being owned, the backend's CPU
    seconds until then, and seconds from the exec to the answer of its first storage
    reads (the profile is created at the first start)."""
    bus = await MessageBus(bus_address=address).connect()
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not await name_owned(bus, BUS_NAME):
        if process.poll() is not None:
            raise SystemExit(f"backend exited with {process.returncode}")
        await asyncio.sleep(0.002)
    owned = time.perf_counter() - start
    cpu = cpu_seconds(process.pid)
    profiles = await call(bus, "ProfilesList")
    if PROFILE not in profiles:
        await call(bus, "ProfileCreate", "ssss", [PROFILE, f"{PROFILE}@example.org", "secret", "{}"])
    else:
        await call(bus, "ParamGet", "sss", ["Connection", "JabberID", PROFILE])
    answered = time.perf_counter() - start
    process.terminate()
    process.wait(30)
    while await name_owned(bus, BUS_NAME):
        await asyncio.sleep(0.01)
    bus.disconnect()
    return owned, cpu, answered


def backend_command(source: Path | None) -> list[str]:
    """``sat-backend fg``, or ``python -S -P -m sat_backend fg`` from ``source`` (neither
    ``site`` nor the current directory: this tree and its editable install stay out)."""
    if source is None:
        return [str(BIN / "sat-backend"), "fg"]
    return [sys.executable, "-S", "-P", "-m", "sat_backend", "fg"]


def byte_compile(source: Path | None) -> None:
    """Compile what is stale in the tree the backend runs from, as an install does (a
    wheel is compiled by pip, ``make venv`` compiles the editable tree): with
    ``PYTHONDONTWRITEBYTECODE`` set, an edited module would otherwise be compiled again
    at every timed start, a cost no installed backend pays."""
    tree = source or ROOT
    for package in ("sat_backend", "sat_bridge"):
        compileall.compile_dir(tree / package, quiet=1)


def source_environment(env: dict[str, str], source: Path | None) -> dict[str, str]:
    if source is None:
        return env
    return dict(env, PYTHONPATH=f"{source}{os.pathsep}{sysconfig.get_paths()['purelib']}")


async def imports_of_a_start(
    env: dict[str, str], address: str, report: Path, command: list[str]
) -> dict[str, int]:
    """Import time in µs of each top-level package (the sum of its modules' own times,
    so a package imported by another is not counted twice), for one start under
    ``-X importtime`` (stopped once the name is owned; its report goes to a file, a
    pipe would fill up and block the start)."""
    bus = await MessageBus(bus_address=address).connect()
    with report.open("w") as stderr_file:
        process = subprocess.Popen(
            [sys.executable, "-X", "importtime", *command[1:]] if command[0] == sys.executable
            else [sys.executable, "-X", "importtime", "-m", "sat_backend", "fg"],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr_file,
        )
    while not await name_owned(bus, "org.salutatoi.SAT1"):
        if process.poll() is not None:
            raise SystemExit(f"backend exited with {process.returncode}")
        await asyncio.sleep(0.01)
    process.terminate()
    process.wait(30)
    bus.disconnect()
    totals: dict[str, int] = {}
    for line in report.read_text().splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        if own.strip().isdigit():
            top = name.strip().split(".")[0]
            totals[top] = totals.get(top, 0) + int(own)
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--source", type=Path, help="run the backend from this source tree")
    options = parser.parse_args()
    command = backend_command(options.source)
    byte_compile(options.source)
    with tempfile.TemporaryDirectory(prefix="sat-bench-start-") as directory:
        root = Path(directory)
        env = source_environment(isolated_environment(root / "env", BIN), options.source)
        bus = PrivateBus(root / "bus", env)
        env["DBUS_SESSION_BUS_ADDRESS"] = address = bus.start()
        try:
            timed = [asyncio.run(timed_start(env, address, command)) for _ in range(options.starts + 1)]
            starts, cpu, ready = (list(column) for column in zip(*timed))
            imports = asyncio.run(imports_of_a_start(env, address, root / "importtime.txt", command))
        finally:
            bus.stop()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
          f"load {os.getloadavg()[0]:.1f}; backend: {options.source or 'installed'}")
    print(f"first start (creates the DB) → bus name owned: {starts[0] * 1e3:.0f} ms")
    runs = ", ".join(f"{s * 1e3:.0f}" for s in starts[1:])
    median = statistics.median(starts[1:]) * 1e3
    record("start_ms", median)
    print(f"exec → bus name owned, DB at head: {runs} ms (median {median:.0f} ms; goal ≤ {GOAL_MS} ms)")
    cpu_runs = ", ".join(f"{c * 1e3:.0f}" for c in cpu[1:])
    ready_runs = ", ".join(f"{r * 1e3:.0f}" for r in ready[1:])
    ready_median = statistics.median(ready[1:]) * 1e3
    record("ready_ms", ready_median)
    print(f"exec → first answer reading storage (ProfilesList, then ParamGet): {ready_runs} ms "
          f"(median {ready_median:.0f} ms; goal ≤ {GOAL_MS} ms)")
    print(f"backend CPU time until the name was owned: {cpu_runs} ms (median {statistics.median(cpu[1:]) * 1e3:.0f} ms, "
          f"fastest {min(cpu[1:]) * 1e3:.0f} ms: the least moved by other load)")
    print("own import time of each package in one start (-X importtime, slower than a plain start):")
    for name in WATCHED:
        shown = f"{imports[name] / 1e3:.1f} ms" if name in imports else "not imported"
        print(f"  {name:<14} {shown}")
    print(f"  {'all imports':<14} {sum(imports.values()) / 1e3:.1f} ms")
    loaded = [name for name in NOT_ON_START if name in imports]
    print(f"alembic/mako/pygments/sqlalchemy on a start: {', '.join(loaded) or 'none'} (goal: none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
