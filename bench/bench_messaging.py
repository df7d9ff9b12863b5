"""Messaging benchmark: time to connect a profile, and messages/s through MessageSend.

Run by hand (never in tests): ``.venv/bin/python bench/bench_messaging.py [--messages N]``.
Starts a private bus, a throw-away Prosody on loopback and the real backend, then:

* connect: median wall time of ``Connect`` (TCP + STARTTLS + SCRAM + bind + roster +
  initial presence) over several connect/disconnect cycles;
* throughput: N sequential ``MessageSend`` calls from one profile to another, until the
  receiving profile's ``MessageNew`` signal has arrived for all of them (stored in
  history on both sides, announced on the bus).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.record import record  # noqa: E402
from bench.xmpp_harness import SignalCounter, xmpp_bench  # noqa: E402

ACCOUNTS = {"alice": "alice pw", "bob": "bob pw"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--connects", type=int, default=10)
    options = parser.parse_args()
    with xmpp_bench(ACCOUNTS, ("alice", "bob")) as (client, server):
        connect_times = []
        for _ in range(options.connects):
            start = time.perf_counter()
            client.connect("alice")
            connect_times.append(time.perf_counter() - start)
            client.disconnect("alice")
        client.connect("alice")
        client.connect("bob")

        delivered = SignalCounter(client, "MessageNew", options.messages, lambda *args: args[-1] == "bob")
        start = time.perf_counter()
        for index in range(options.messages):
            client.message_send("bob@localhost", {"": f"message {index}"}, {}, "chat", "{}", "alice")
        sent_time = time.perf_counter() - start
        delivered.wait(120)
        total_time = time.perf_counter() - start
    print(f"connect (STARTTLS + SCRAM + bind + roster + presence): median {statistics.median(connect_times) * 1000:.0f} ms "
          f"(min {min(connect_times) * 1000:.0f}, max {max(connect_times) * 1000:.0f}, {options.connects} runs)")
    record("message_send_per_s", options.messages / sent_time, messages=options.messages)
    print(f"MessageSend, {options.messages} sequential calls: {options.messages / sent_time:.0f} calls/s")
    print(f"end to end (until the recipient's MessageNew for all): {options.messages / total_time:.0f} messages/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
