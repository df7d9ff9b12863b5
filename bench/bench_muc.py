"""Group chat benchmark: time to enter a room, and room messages/s end to end.

Run by hand (never in tests): ``.venv/bin/python bench/bench_muc.py [--messages N] [--joins N]``.
Starts a private bus, a throw-away Prosody on loopback (``chat.localhost``, archived) and
the real backend, then:

* join: median wall time of ``MucJoin`` of a new room (disco#info of the room and of the
  service, the presence, status 110/201, the instant room's configuration, the
  bookmark's publication), and of entering an existing one with people in it;
* throughput: N sequential groupchat ``MessageSend`` calls of one profile, until the other
  profile in the room has the ``MessageNew`` of all of them (and the sender's reflection
  of each is recognised, not stored twice).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.xmpp_harness import SignalCounter, xmpp_bench  # noqa: E402

ACCOUNTS = {"alice": "alice pw", "bob": "bob pw"}


def milliseconds(times: list[float]) -> str:
    return (f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
            f"max {max(times) * 1000:.0f}, {len(times)} runs)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--joins", type=int, default=10)
    options = parser.parse_args()
    with xmpp_bench(ACCOUNTS, ("alice", "bob")) as (client, _server):
        client.connect("alice")
        client.connect("bob")
        create_times, enter_times = [], []
        for _ in range(options.joins):
            room = f"bench-{uuid.uuid4().hex[:10]}@chat.localhost"
            start = time.perf_counter()
            client.muc_join(room, "alice", "", "{}", "alice")
            create_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            client.muc_join(room, "bob", "", "{}", "bob")
            enter_times.append(time.perf_counter() - start)

        delivered = SignalCounter(client, "MessageNew", options.messages,
                                  lambda *args: args[-1] == "bob" and args[6] == "groupchat")
        start = time.perf_counter()
        for index in range(options.messages):
            client.message_send(room, {"": f"message {index}"}, {}, "groupchat", "{}", "alice")
        sent_time = time.perf_counter() - start
        delivered.wait(120)
        total_time = time.perf_counter() - start
        stored = len(client.history_get(room, "", 0, True, "{}", "alice"))
    print(f"MucJoin of a new room (instant room): {milliseconds(create_times)}")
    print(f"MucJoin of an existing room: {milliseconds(enter_times)}")
    print(f"groupchat MessageSend, {options.messages} sequential calls: {options.messages / sent_time:.0f} calls/s")
    print(f"end to end (until the other occupant's MessageNew for all): {options.messages / total_time:.0f} messages/s")
    print(f"sender's history: {stored} messages for {options.messages} sent (reflections recognised)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
