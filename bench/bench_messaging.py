"""Messaging benchmark: time to connect a profile, and messages/s through MessageSend.

Run by hand (never in tests): ``.venv/bin/python bench/bench_messaging.py [--messages N]``.
Starts a private bus, a throw-away Prosody on loopback and the real backend, then:

* connect: median wall time of ``Connect`` (TCP + STARTTLS + SCRAM + bind + roster +
  initial presence) over several connect/disconnect cycles;
* throughput: N sequential ``MessageSend`` calls from one profile to another, until the
  receiving profile's ``MessageNew`` signal has arrived for all of them (stored in
  history on both sides, announced on the bus), twice: from an ``AsyncBridgeClient``
  awaiting each call on its own event loop (as a GUI frontend on an event loop calls),
  then from the blocking ``BridgeClient`` (a thread hop per call, its loop thread
  decoding every signal beside the caller: the line the issue's figure was first taken
  with). The async run goes first, so that no blocking client decodes signals during it;
* the backend's CPU time per message over each run (its sending and its receiving side):
  unlike the calls/s, it hardly moves with the machine's load;
* then the sending side alone, for context: the same async calls to carol, an account of
  the server that is no profile of this backend and is offline (nothing comes back to
  the backend but each call's reply and its own ``MessageNew`` echo).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.record import cpu_seconds, record  # noqa: E402
from bench.xmpp_harness import SignalCounter, bench_environment  # noqa: E402
from bench import daemon_profile  # noqa: E402
from sat_bridge.client import AsyncBridgeClient  # noqa: E402

ACCOUNTS = {"alice": "alice pw", "bob": "bob pw", "carol": "carol pw"}
RECIPIENT = "bob@localhost"
#: an account of the server, no profile of the backend, never online
ELSEWHERE = "carol@localhost"


def to_bob(*args: object) -> bool:
    """A ``MessageNew`` of the receiving profile (its last argument)."""
    return args[-1] == "bob"


async def send_async(bus_address: str, messages: int, pid: int, recipient: str = RECIPIENT) -> tuple[float, float]:
    """``messages`` sequential awaited ``MessageSend`` calls from an ``AsyncBridgeClient``,
    then the wait for bob's ``MessageNew`` of each (when ``recipient`` is bob).

    :returns: seconds the calls took, backend CPU seconds per message until all arrived
        (the calls' end when the recipient is not bob).
    """
    client = await AsyncBridgeClient.open_bus(bus_address)
    received = 0
    all_received = asyncio.Event()

    def on_message_new(*args: object) -> None:
        nonlocal received
        if to_bob(*args):
            received += 1
            if received == messages:
                all_received.set()

    await client.on_signal("MessageNew", on_message_new)
    cpu_before, start = cpu_seconds(pid), time.perf_counter()
    for index in range(messages):
        await client.message_send(recipient, {"": f"async message {index}"}, {}, "chat", "{}", "alice")
    sent_time = time.perf_counter() - start
    try:
        if recipient == RECIPIENT:
            await asyncio.wait_for(all_received.wait(), 120)
    except asyncio.TimeoutError:
        raise SystemExit(f"only {received} of {messages} signals arrived") from None
    cpu_per_message = (cpu_seconds(pid) - cpu_before) / messages
    await client.close()
    return sent_time, cpu_per_message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--connects", type=int, default=10)
    daemon_profile.add_option(parser, "the sends (both clients)")
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

        with daemon_profile.profiled(backend.process.pid, options.cprofile):
            async_sent_time, async_cpu = asyncio.run(send_async(
                environment.env["DBUS_SESSION_BUS_ADDRESS"], options.messages, backend.process.pid))

        delivered = SignalCounter(client, "MessageNew", options.messages, to_bob)
        with daemon_profile.profiled(backend.process.pid, options.cprofile):
            cpu_before, start = cpu_seconds(backend.process.pid), time.perf_counter()
            for index in range(options.messages):
                client.message_send(RECIPIENT, {"": f"message {index}"}, {}, "chat", "{}", "alice")
            sent_time = time.perf_counter() - start
            delivered.wait(120)
            total_time = time.perf_counter() - start
            cpu_per_message = (cpu_seconds(backend.process.pid) - cpu_before) / options.messages
        alone_time, alone_cpu = asyncio.run(send_async(
            environment.env["DBUS_SESSION_BUS_ADDRESS"], options.messages, backend.process.pid, ELSEWHERE))
    print(f"connect (STARTTLS + SCRAM + bind + roster + presence): median {statistics.median(connect_times) * 1000:.0f} ms "
          f"(min {min(connect_times) * 1000:.0f}, max {max(connect_times) * 1000:.0f}, {options.connects} runs)")
    record("message_send_async_per_s", options.messages / async_sent_time, messages=options.messages)
    print(f"MessageSend, {options.messages} sequential calls, async client (AsyncBridgeClient awaiting each): "
          f"{options.messages / async_sent_time:.0f} calls/s")
    record("message_send_async_cpu_ms", async_cpu * 1000, messages=options.messages)
    print(f"  backend CPU per message (its sending and its receiving side): {async_cpu * 1000:.2f} ms")
    record("message_send_per_s", options.messages / sent_time, messages=options.messages)
    print(f"MessageSend, {options.messages} sequential calls, blocking client (BridgeClient, a thread hop per call): "
          f"{options.messages / sent_time:.0f} calls/s")
    record("message_send_cpu_ms", cpu_per_message * 1000, messages=options.messages)
    print(f"  backend CPU per message (its sending and its receiving side): {cpu_per_message * 1000:.2f} ms")
    print(f"  end to end (until the recipient's MessageNew for all): {options.messages / total_time:.0f} messages/s")
    record("message_send_alone_per_s", options.messages / alone_time, messages=options.messages)
    record("message_send_alone_cpu_ms", alone_cpu * 1000, messages=options.messages)
    print(f"MessageSend to {ELSEWHERE} (offline, no profile here: the sending side alone), async client: "
          f"{options.messages / alone_time:.0f} calls/s; backend CPU per message {alone_cpu * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
