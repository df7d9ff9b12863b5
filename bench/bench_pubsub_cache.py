"""Pubsub cache benchmark: reading a 1,000-item node from the cache and from the service,
and items/s ingested from notifications (stored, then announced with PsEvent).

Two cached reads are timed: the same read repeated, answered with the page kept in memory
(:mod:`sat_backend.memory.pubsub_cache_answers`), and the first read after each change of
the node (an item published again with other content, its ``PsEvent`` awaited), answered
with the database's page: the path every read took before pages were kept.

The cached read is also set beside its floor, "raw" (issue 14): the same call to a raw
dbus-fast service on the same bus (:data:`RAW_READER`) that reads the same rows (item id
and raw XML, in the cache's order) from the backend's database with the plain driver
(``sqlite3``, or ``asyncpg`` on PostgreSQL) and answers the same JSON (RSM answer
included: the same reply size), made the way the bridge client makes its calls (from a
loop in another thread, bounded by ``wait_for``) and decoded by the caller as
``PsItemsGet``'s answer is.

Run by hand (never in tests): ``.venv/bin/python bench/bench_pubsub_cache.py [--items N]
[--postgresql]`` (``--postgresql``: the backend stores in a fresh PostgreSQL database,
which the raw floor reads).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dbus_fast import Message  # noqa: E402
from dbus_fast.aio import MessageBus  # noqa: E402

from bench import daemon_profile  # noqa: E402
from bench.bench_pubsub_ingest import database  # noqa: E402
from bench.record import child_processes, record, run_and_wait_seconds  # noqa: E402
from bench.xmpp_harness import SignalCounter, bench_environment  # noqa: E402
from tests.fixtures.xmpp_peer import connected_peer  # noqa: E402

SERVICE = "pubsub.localhost"
#: the raw floor: a dbus-fast service answering the node's rows read with the plain driver, as JSON
RAW_READER = '''
import asyncio, json, sqlite3, sys
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, dbus_method

SQL = ("SELECT i.name, i.data FROM pubsub_items i JOIN pubsub_nodes n ON n.id = i.node_id WHERE n.name = {} "
       "ORDER BY i.created, i.id")

def answer(rows, service, node):
    names = [name for name, _ in rows]
    rsm = {"index": 0, "count": len(rows), **({"first": names[0], "last": names[-1]} if names else {})}
    return json.dumps({"items": [data for _, data in rows], "service": service, "node": node, "rsm": rsm,
                       "complete": True, "cached": True})

class Reader(ServiceInterface):
    def __init__(self, read):
        super().__init__("org.salutatoi.Bench.Raw")
        self.read = read

    @dbus_method()
    async def Read(self, service: "s", node: "s") -> "s":
        self.last = answer(await self.read(node), service, node)
        return self.last

    @dbus_method()
    async def Echo(self, service: "s", node: "s") -> "s":
        return self.last  # the last Read's answer: the bus alone

async def main():
    database = sys.argv[2]
    if database.startswith("postgresql"):
        import asyncpg
        connection = await asyncpg.connect(database)
        statement = await connection.prepare(SQL.format("$1"))
        async def read(node):
            return await statement.fetch(node)
    else:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        async def read(node):
            return connection.execute(SQL.format("?"), (node,)).fetchall()
    bus = await MessageBus(bus_address=sys.argv[1]).connect()
    bus.export("/bench/raw", Reader(read))
    await bus.request_name("org.salutatoi.Bench")
    print("ready", flush=True)
    await bus.wait_for_disconnect()

asyncio.run(main())
'''
ACCOUNTS = {"alice": "alice pw", "carol": "carol pw"}


def payload(index: int) -> str:
    return f"<entry xmlns='urn:example:bench'><text>item {index} {'x' * 200}</text></entry>"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=15)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--postgresql", action="store_true")
    daemon_profile.add_option(parser, "the cached reads (after their warm-up)")
    options = parser.parse_args()
    daemon_profile.arm(options.cprofile)
    kind = "postgresql" if options.postgresql else "sqlite"
    with database(kind) as url, bench_environment(ACCOUNTS, ("alice",), url) as environment:
        client, server = environment.client, environment.server
        client.connect("alice")
        with connected_peer(server, "carol", ACCOUNTS["carol"]) as carol:
            carol.create_node(SERVICE, "bench", {"pubsub#max_items": "max"})
            for index in range(options.items):
                carol.publish(SERVICE, "bench", payload(index), f"i{index}")
            start = time.perf_counter()
            client.ps_cache_sync(SERVICE, "bench", "alice")
            sync_time = time.perf_counter() - start

            def read(use_cache: bool) -> float:
                start = time.perf_counter()
                result = json.loads(client.ps_items_get(SERVICE, "bench", 0, [], "", json.dumps(
                    {"use_cache": use_cache}), "alice"))
                elapsed = time.perf_counter() - start
                assert len(result["items"]) == options.items and result["cached"] is use_cache
                return elapsed

            groups = processes(environment.backend.process.pid, url)  # type: ignore[union-attr]

            def reads(use_cache: bool) -> tuple[list[float], dict[str, tuple[float, float]]]:
                """Seconds of each read, and the CPU and run-queue wait seconds per read of
                each process it goes through (:func:`processes`)."""
                read(use_cache)  # warms up (the node's order, statements prepared)
                with daemon_profile.profiled(groups["backend"][0], options.cprofile if use_cache else None):
                    before = schedule(groups)
                    times = [read(use_cache) for _ in range(options.reads)]
                    after = schedule(groups)
                return times, {name: ((run - before[name][0]) / options.reads, (wait - before[name][1]) / options.reads)
                               for name, (run, wait) in after.items()}

            cache_times, cache_schedule = reads(True)

            def changed_reads() -> tuple[list[float], float]:
                """Seconds of each read right after a change of the node (the database's
                page), and the backend's CPU seconds per such read (the reads alone)."""
                times, cpu = [], 0.0
                for change in range(options.reads + 1):  # the first one warms up
                    changed = SignalCounter(client, "PsEvent", 1)
                    carol.publish(SERVICE, "bench", payload(options.items + change), "i0")
                    changed.wait(60)
                    before = schedule(backend_only)["backend"][0]
                    times.append(read(True))
                    cpu += (schedule(backend_only)["backend"][0] - before) if change else 0.0
                return times[1:], cpu / options.reads

            backend_only = {"backend": groups["backend"]}
            after_change_times, after_change_cpu = changed_reads()
            service_times, service_schedule = reads(False)
            raw_times, echo_times = raw_reads(environment.env, url, options.items, options.reads)

            ingested = SignalCounter(client, "PsEvent", options.events)
            start = time.perf_counter()
            for index in range(options.events):
                carol.publish(SERVICE, "bench", payload(index), f"e{index}")
            ingested.wait(120)
            ingest_time = time.perf_counter() - start

            ingested = SignalCounter(client, "PsEvent", options.events)
            start = time.perf_counter()
            carol.publish_many(SERVICE, "bench", [(f"p{index}", payload(index)) for index in range(options.events)],
                               timeout=120)
            ingested.wait(120)
            pipelined_time = time.perf_counter() - start
    cache, service = statistics.median(cache_times), statistics.median(service_times)
    after_change = statistics.median(after_change_times)
    record("read_ms", cache * 1000, source="cache", items=options.items, backend=kind)
    record("read_ms", after_change * 1000, source="cache_after_change", items=options.items, backend=kind)
    record("read_ms", service * 1000, source="service", items=options.items, backend=kind)
    record("ingest_per_s", options.events / ingest_time, mode="sequential", backend=kind)
    record("ingest_per_s", options.events / pipelined_time, mode="pipelined", backend=kind)
    print(f"[{kind}] sync of {options.items} items (subscribe, list, fetch, store): {sync_time * 1000:.0f} ms")
    print(f"read {options.items} items again (the page kept in memory), median of {options.reads}: "
          f"cache {cache * 1000:.1f} ms, service (use_cache=false) {service * 1000:.0f} ms, "
          f"ratio service/cache {service / cache:.2f}x (goal ≥ 30x)")
    print(f"first read of {options.items} items after a change (the database's page), median of "
          f"{options.reads}: cache {after_change * 1000:.1f} ms, ratio service/cache "
          f"{service / after_change:.2f}x, backend CPU per read {after_change_cpu * 1000:.2f} ms")
    print(f"backend CPU per read: cache {cache_schedule['backend'][0] * 1000:.2f} ms, "
          f"service {service_schedule['backend'][0] * 1000:.1f} ms "
          f"(fastest cache read {min(cache_times) * 1000:.1f} ms)")
    print("per cached read, ms of CPU (run-queue wait) of each process: " + ", ".join(
        f"{name} {run * 1000:.2f} ({wait * 1000:.2f})" for name, (run, wait) in cache_schedule.items()))
    if raw_times:
        raw = statistics.median(raw_times)
        record("read_ms", raw * 1000, source="raw", items=options.items, backend=kind)
        echo = statistics.median(echo_times)
        record("read_ms", echo * 1000, source="echo", items=options.items, backend=kind)
        print(f"same read, raw (dbus-fast service reading with {'asyncpg' if url else 'sqlite3'}): {raw * 1000:.1f} ms, "
              f"cache/raw {cache / raw:.2f}x (goal ≤ 2x); the raw service's answer echoed (the bus and the caller "
              f"alone): {echo * 1000:.1f} ms, service/echo {service / echo:.1f}x (the highest ratio this bus allows)")
    print(f"notifications ingested and signalled: {options.events / ingest_time:.0f} items/s "
          f"({options.events} sequential publishes by the peer; end to end, from its first publish to the "
          "last PsEvent: bounded by the slower of Prosody's publishing and our ingest)")
    print(f"notifications ingested and signalled, pipelined publishes: {options.events / pipelined_time:.0f} items/s "
          f"(bursts are stored in few transactions; end to end, as above)")
    return 0


def processes(backend: int, url: str | None) -> dict[str, list[int]]:
    """The processes a cached read goes through, by part: the backend, the bus daemon,
    PostgreSQL's server processes (on PostgreSQL), and this one (the bridge client)."""
    own = os.getpid()
    bus = [pid for pid in child_processes(own) if Path(f"/proc/{pid}/comm").read_text().strip() == "dbus-daemon"]
    groups = {"backend": [backend], "dbus-daemon": bus, "client (this process)": [own]}
    if url:
        port = f"-p {url.rsplit(':', 1)[1].split('/')[0]} "
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and port in _cmdline(entry):
                groups["postgresql"] = [int(entry.name), *child_processes(int(entry.name))]
    return groups


def _cmdline(entry: Path) -> str:
    try:
        return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def schedule(groups: dict[str, list[int]]) -> dict[str, tuple[float, float]]:
    """CPU and run-queue wait seconds so far of each group of :func:`processes`."""
    figures = {}
    for name, pids in groups.items():
        both = [run_and_wait_seconds(pid) for pid in pids]
        figures[name] = (sum(run for run, _ in both), sum(wait for _, wait in both))
    return figures


def raw_reads(env: dict[str, str], url: str | None, items: int, reads: int) -> tuple[list[float], list[float]]:
    """Seconds of each raw read of the node (see the module's docstring), and of each
    echo of its answer (the raw service answering the string it made last: the bus and
    the caller alone), the two in turns."""
    database = url.replace("postgresql+asyncpg", "postgresql") if url else str(
        Path(env["XDG_DATA_HOME"]) / "sat" / "sat.db")
    reader = subprocess.Popen([sys.executable, "-c", RAW_READER, env["DBUS_SESSION_BUS_ADDRESS"], database],
                              env=env, stdout=subprocess.PIPE, text=True)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        bus = asyncio.run_coroutine_threadsafe(_connect(env["DBUS_SESSION_BUS_ADDRESS"]), loop).result()
        try:
            times: dict[str, list[float]] = {"Read": [], "Echo": []}
            for _ in range(reads + 1):  # the first ones warm up
                for member, member_times in times.items():
                    start = time.perf_counter()
                    body = asyncio.run_coroutine_threadsafe(_raw_read(bus, member), loop).result()
                    assert len(json.loads(body)["items"]) == items
                    member_times.append(time.perf_counter() - start)
            return times["Read"][1:], times["Echo"][1:]
        finally:
            bus.disconnect()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        reader.terminate()
        reader.wait(10)


async def _connect(address: str) -> MessageBus:
    return await MessageBus(bus_address=address).connect()  # made in the loop that runs it


async def _raw_read(bus: MessageBus, member: str) -> str:
    """One raw call, as :meth:`sat_bridge.client.AsyncBridgeClient.call` makes one."""
    reply = await asyncio.wait_for(bus.call(Message(
        destination="org.salutatoi.Bench", path="/bench/raw", interface="org.salutatoi.Bench.Raw", member=member,
        signature="ss", body=[SERVICE, "bench"])), 120)
    assert reply is not None
    body: str = reply.body[0]
    return body


if __name__ == "__main__":
    sys.exit(main())
