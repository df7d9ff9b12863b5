"""Pubsub notifications ingested end to end: a local pubsub component (XEP-0114) sends N
one-item notifications of a cached node in a burst; the backend stores each item and
emits ``PsEvent``. Prints items/s end to end (first notification sent → last
``PsEvent`` received) and items per daemon CPU-second (the backend process's user +
system time over the same window), on SQLite and PostgreSQL, with issue 14's goals.

Then, with ``--burst N``, one burst of N notifications to a new node, after which the
backend's resident memory is read (issue 14: bounded after a flood; the stream stops
reading while too many notifications wait, :mod:`sat_backend.core.xmpp.reading_pause`).

Run by hand (never in tests): ``.venv/bin/python bench/bench_pubsub_ingest.py
[--items 1000] [--runs 3] [--burst 0] [--no-postgresql] [--no-sqlite] [--cprofile FILE]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import daemon_profile  # noqa: E402
from bench.record import cpu_seconds, record, rss_mb  # noqa: E402
from bench.xmpp_harness import BenchEnvironment, SignalCounter, bench_environment  # noqa: E402
from tests.fixtures.pubsub_component import connected_component  # noqa: E402

ACCOUNTS = {"alice": "alice pw"}
#: issue 14's goals
GOAL_END_TO_END = 1000.0
GOAL_PER_CPU_SECOND = 3000.0
#: items already in each node when it is synchronised
SEEDED = 20
TIMEOUT = 300.0


def payload(index: int) -> str:
    return (f"<entry xmlns='http://www.w3.org/2005/Atom'><title>item {index}</title>"
            f"<content>notified item number {index} {'lorem ipsum ' * 16}</content></entry>")


def one_run(environment: BenchEnvironment, run: int | str, items: int, cprofile: str | None) -> tuple[float, float]:
    """A fresh cached node, then ``items`` notifications of new items: (items/s end to
    end, items per daemon CPU-second)."""
    client, backend = environment.client, environment.backend
    assert backend.process is not None
    with connected_component(environment.server) as component:
        node = f"ingest-{run}"
        component.nodes[node] = [(f"seed{index}", payload(index)) for index in range(SEEDED)]
        client.ps_cache_sync(component.service, node, "alice", timeout=TIMEOUT)
        notified = [(f"n{index}", payload(index)) for index in range(items)]
        signalled = SignalCounter(client, "PsEvent", items, lambda _category, _service, name, *_: name == node)
        with daemon_profile.profiled(backend.process.pid, cprofile):
            cpu_before, start = cpu_seconds(backend.process.pid), time.perf_counter()
            component.send_many_items("alice@localhost", node, notified)
            signalled.wait(TIMEOUT)
            elapsed, cpu = time.perf_counter() - start, cpu_seconds(backend.process.pid) - cpu_before
    return items / elapsed, items / cpu


@contextmanager
def database(kind: str) -> Iterator[str | None]:
    """The backend's database URL: None (its SQLite file) or a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield None
        return
    from tests.fixtures.postgres import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.create_database()
    finally:
        cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=0, help="then one burst of N notifications, and the RSS")
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    daemon_profile.add_option(parser, "the notifications of every run (of the last database)")
    options = parser.parse_args()
    daemon_profile.arm(options.cprofile)
    kinds = [kind for kind, off in (("sqlite", options.no_sqlite), ("postgresql", options.no_postgresql)) if not off]
    for kind in kinds:
        with database(kind) as url, bench_environment(ACCOUNTS, ("alice",), url) as environment:
            environment.client.connect("alice")
            runs = [one_run(environment, run, options.items, options.cprofile) for run in range(options.runs)]
            if options.burst:
                burst = one_run(environment, "burst", options.burst, None)
                assert environment.backend.process is not None
                rss = rss_mb(environment.backend.process.pid)
                record("rss_after_burst_mb", rss, backend=kind, items=options.burst)
                print(f"[{kind}] a burst of {options.burst} notifications: {burst[0]:.0f} items/s end to end, "
                      f"{burst[1]:.0f} per daemon CPU-s; backend RSS after it {rss or 0:.1f} MB (goal ≤ 100 MB)")
        end_to_end = [figure for figure, _ in runs]
        per_cpu = [figure for _, figure in runs]
        record("ingest_e2e_per_s", min(end_to_end), backend=kind, items=options.items, runs=end_to_end)
        record("ingest_per_cpu_s", min(per_cpu), backend=kind, items=options.items, runs=per_cpu)
        print(f"[{kind}] {options.items} one-item notifications from a component, stored then signalled:")
        print(f"  end to end:        {', '.join(f'{v:.0f}' for v in end_to_end)} items/s "
              f"(median {statistics.median(end_to_end):.0f}; goal ≥ {GOAL_END_TO_END:,.0f})")
        print(f"  per daemon CPU-s:  {', '.join(f'{v:.0f}' for v in per_cpu)} items/s "
              f"(median {statistics.median(per_cpu):.0f}; goal ≥ {GOAL_PER_CPU_SECOND:,.0f} per core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
