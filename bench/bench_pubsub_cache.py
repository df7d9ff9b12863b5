"""Pubsub cache benchmark: reading a 1,000-item node from the cache and from the service,
and items/s ingested from notifications (stored, then announced with PsEvent).

Run by hand (never in tests): ``.venv/bin/python bench/bench_pubsub_cache.py [--items N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.record import record  # noqa: E402
from bench.xmpp_harness import SignalCounter, xmpp_bench  # noqa: E402
from tests.fixtures.xmpp_peer import connected_peer  # noqa: E402

SERVICE = "pubsub.localhost"
ACCOUNTS = {"alice": "alice pw", "carol": "carol pw"}


def payload(index: int) -> str:
    return f"<entry xmlns='urn:example:bench'><text>item {index} {'x' * 200}</text></entry>"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=15)
    parser.add_argument("--events", type=int, default=300)
    options = parser.parse_args()
    with xmpp_bench(ACCOUNTS, ("alice",)) as (client, server):
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

            cache_times = [read(True) for _ in range(options.reads)]
            service_times = [read(False) for _ in range(options.reads)]

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
    record("read_ms", cache * 1000, source="cache", items=options.items)
    record("read_ms", service * 1000, source="service", items=options.items)
    record("ingest_per_s", options.events / ingest_time, mode="sequential")
    record("ingest_per_s", options.events / pipelined_time, mode="pipelined")
    print(f"sync of {options.items} items (subscribe, list, fetch, store): {sync_time * 1000:.0f} ms")
    print(f"read {options.items} items, median of {options.reads}: cache {cache * 1000:.0f} ms, "
          f"service (use_cache=false) {service * 1000:.0f} ms, ratio service/cache {service / cache:.2f}x")
    print(f"notifications ingested and signalled: {options.events / ingest_time:.0f} items/s "
          f"({options.events} sequential publishes by the peer; end to end, from its first publish to the "
          "last PsEvent: bounded by the slower of Prosody's publishing and our ingest)")
    print(f"notifications ingested and signalled, pipelined publishes: {options.events / pipelined_time:.0f} items/s "
          f"(bursts are stored in few transactions; end to end, as above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
