"""Bridge benchmark: cold start to bus name, and GetVersion vs a raw dbus-fast echo.

Run by hand (never in tests): ``.venv/bin/python bench/bench_bridge.py [--calls N]``.
It starts a private dbus-daemon, a raw dbus-fast echo service and the real backend,
then times N sequential round trips of each from the same dbus-fast client, with the
same low-level ``bus.call`` path, and prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dbus_fast import Message, MessageType  # noqa: E402
from dbus_fast.aio import MessageBus  # noqa: E402

from bench.record import cpu_seconds  # noqa: E402
from tests.fixtures.dbus import PrivateBus, isolated_environment  # noqa: E402

BIN = Path(sys.executable).parent
ECHO_SERVICE = '''
import asyncio, sys
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, dbus_method

class Echo(ServiceInterface):
    @dbus_method()
    def Echo(self, text: "s") -> "s":
        return text

async def main():
    bus = await MessageBus(bus_address=sys.argv[1]).connect()
    bus.export("/bench/echo", Echo("org.salutatoi.Bench.Echo"))
    await bus.request_name("org.salutatoi.Bench")
    print("ready", flush=True)
    await bus.wait_for_disconnect()

asyncio.run(main())
'''


async def name_owned(bus: MessageBus, name: str) -> bool:
    reply = await bus.call(Message(
        destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
        interface="org.freedesktop.DBus", member="NameHasOwner", signature="s", body=[name],
    ))
    return bool(reply and reply.body[0])


async def time_calls(bus: MessageBus, message_factory, calls: int) -> list[float]:
    durations = []
    for _ in range(calls):
        message = message_factory()
        start = time.perf_counter()
        reply = await bus.call(message)
        durations.append(time.perf_counter() - start)
        assert reply is not None and reply.message_type == MessageType.METHOD_RETURN, reply.body
    return durations


async def measure(address: str, calls: int) -> tuple[list[float], list[float]]:
    bus = await MessageBus(bus_address=address).connect()
    echo = lambda: Message(  # noqa: E731
        destination="org.salutatoi.Bench", path="/bench/echo",
        interface="org.salutatoi.Bench.Echo", member="Echo", signature="s", body=["0.1.0"],
    )
    version = lambda: Message(  # noqa: E731
        destination="org.salutatoi.SAT1", path="/org/salutatoi/SAT1/bridge",
        interface="org.salutatoi.SAT1.Core", member="GetVersion",
    )
    # warm up both paths, then interleave rounds so drift hits both equally
    await time_calls(bus, echo, 50)
    await time_calls(bus, version, 50)
    echo_times: list[float] = []
    version_times: list[float] = []
    for _ in range(10):
        echo_times += await time_calls(bus, echo, calls // 10)
        version_times += await time_calls(bus, version, calls // 10)
    bus.disconnect()
    return echo_times, version_times


async def cold_start(
    env: dict[str, str], address: str, command: list[str] | None = None, cpu: list[float] | None = None
) -> float:
    """Seconds from spawning ``sat-backend fg`` (or ``command``) to the bus name being
    owned; the CPU seconds the backend used until then are appended to ``cpu``."""
    bus = await MessageBus(bus_address=address).connect()
    start = time.perf_counter()
    process = subprocess.Popen(command or [str(BIN / "sat-backend"), "fg"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not await name_owned(bus, "org.salutatoi.SAT1"):
        if process.poll() is not None:
            raise SystemExit(f"backend exited with {process.returncode}")
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(cpu_seconds(process.pid))
    process.terminate()
    process.wait(30)
    while await name_owned(bus, "org.salutatoi.SAT1"):
        await asyncio.sleep(0.01)
    bus.disconnect()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--starts", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sat-bench-") as directory:
        root = Path(directory)
        env = isolated_environment(root / "env", BIN)
        bus = PrivateBus(root / "bus", env)
        env["DBUS_SESSION_BUS_ADDRESS"] = address = bus.start()
        echo = subprocess.Popen([sys.executable, "-c", ECHO_SERVICE, address], env=env,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
            # first start creates the database; the later ones are the usual cold start
            starts = [asyncio.run(cold_start(env, address)) for _ in range(options.starts + 1)]
            backend = subprocess.Popen([str(BIN / "sat-backend"), "fg"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            asyncio.run(_wait_owned(address))
            echo_times, version_times = asyncio.run(measure(address, options.calls))
            backend.terminate()
            backend.wait(30)
        finally:
            echo.terminate()
            echo.wait(10)
            bus.stop()
    echo_median = statistics.median(echo_times) * 1e3
    version_median = statistics.median(version_times) * 1e3
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"cold start to bus name owned, first run (creates the DB): {starts[0]*1e3:.0f} ms")
    print(f"cold start to bus name owned, median of {options.starts}: {statistics.median(starts[1:])*1e3:.0f} ms")
    print(f"raw dbus-fast echo      median round trip: {echo_median:.3f} ms ({len(echo_times)} calls)")
    print(f"bridge GetVersion       median round trip: {version_median:.3f} ms ({len(version_times)} calls)")
    print(f"ratio GetVersion / echo: {version_median / echo_median:.2f}x (target <= 1.2x)")
    return 0


async def _wait_owned(address: str) -> None:
    bus = await MessageBus(bus_address=address).connect()
    while not await name_owned(bus, "org.salutatoi.SAT1"):
        await asyncio.sleep(0.01)
    bus.disconnect()


if __name__ == "__main__":
    sys.exit(main())
