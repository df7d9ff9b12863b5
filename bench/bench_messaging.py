"""Messaging benchmark: time to connect a profile, and messages/s through MessageSend.

Run by hand (never in tests): ``.venv/bin/python bench/bench_messaging.py [--messages N]``.
Starts a private bus, a throw-away Prosody on loopback and the real backend, then:

* connect: median wall time of ``Connect`` (TCP + STARTTLS + SCRAM + bind + roster +
  initial presence) over several connect/disconnect cycles;
* throughput: N sequential ``MessageSend`` calls from one profile to another, until the
  receiving profile's ``MessageNew`` signal has arrived for all of them (stored in
  history on both sides, announced on the bus);
* the backend's CPU time per message over that run (its sending and its receiving side):
  unlike the calls/s, it hardly moves with the machine's load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.record import cpu_seconds, record  # noqa: E402
from bench.xmpp_harness import SignalCounter, bench_environment  # noqa: E402
from bench import daemon_profile  # noqa: E402

ACCOUNTS = {"alice": "alice pw", "bob": "bob pw"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--connects", type=int, default=10)
    daemon_profile.add_option(parser, "the sends")
    options = parser.parse_args()
    daemon_profile.arm(options.cprofile)
    with bench_environment(ACCOUNTS, ("alice", "bob")) as environment:
        client, backend = environment.client, environment.backend
        assert backend.process is not None
        connect_times = []
        for _ in range(options.connects):
            start = time.perf_counter()
            client.connect("alice")
            connect_times.append(time.perf_counter() - start)
            client.disconnect("alice")
        client.connect("alice")
        client.connect("bob")

        delivered = SignalCounter(client, "MessageNew", options.messages, lambda *args: args[-1] == "bob")
        with daemon_profile.profiled(backend.process.pid, options.cprofile):
            cpu_before, start = cpu_seconds(backend.process.pid), time.perf_counter()
            for index in range(options.messages):
                client.message_send("bob@localhost", {"": f"message {index}"}, {}, "chat", "{}", "alice")
            sent_time = time.perf_counter() - start
            delivered.wait(120)
            total_time = time.perf_counter() - start
            cpu_per_message = (cpu_seconds(backend.process.pid) - cpu_before) / options.messages
    print(f"connect (STARTTLS + SCRAM + bind + roster + presence): median {statistics.median(connect_times) * 1000:.0f} ms "
          f"(min {min(connect_times) * 1000:.0f}, max {max(connect_times) * 1000:.0f}, {options.connects} runs)")
    record("message_send_per_s", options.messages / sent_time, messages=options.messages)
    print(f"MessageSend, {options.messages} sequential calls: {options.messages / sent_time:.0f} calls/s")
    record("message_send_cpu_ms", cpu_per_message * 1000, messages=options.messages)
    print(f"backend CPU per message (its sending and its receiving side): {cpu_per_message * 1000:.2f} ms")
    print(f"end to end (until the recipient's MessageNew for all): {options.messages / total_time:.0f} messages/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
