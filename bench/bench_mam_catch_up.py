"""Archive catch-up benchmark (XEP-0313): what reconnecting after an absence costs.

Run by hand (never in tests): ``.venv/bin/python bench/bench_mam_catch_up.py [--messages N]``.
Starts a private bus, a throw-away Prosody on loopback and the real backend, then:

* bob's profile connects once, so that the backend knows its place in bob's archive (a
  first connection imports only the most recent page), and disconnects;
* a peer (carol, a plain XMPP client) sends bob N messages while he is offline: the
  server keeps them in bob's archive only (its offline storage is off, unless
  ``--offline-storage``: then the server also pushes them at bob's next presence, and
  the catch-up finds most already stored); an archive query of carol's, answered only
  once her stream's earlier stanzas are handled, says they are all in;
* bob's profile connects again: the catch-up pages through the archive and stores and
  announces each message. Measured from ``Connect`` to bob's last ``MessageNew`` and the
  catch-up's end (its log line): the wall time (the server's paging included) and the backend's CPU time per message, which hardly
  moves with the machine's load. Run twice (two absences), the second on a longer history.
  The backend's own account of each catch-up (pages, fetched, new) is printed beside.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.record import cpu_seconds, record  # noqa: E402
from bench.xmpp_harness import SignalCounter, bench_environment  # noqa: E402
from bench import daemon_profile  # noqa: E402
from tests.fixtures.xmpp_peer import connected_peer  # noqa: E402
from tests.integration.archive_helpers import catch_ups, wait_until  # noqa: E402

ACCOUNTS = {"bob": "bob pw", "carol": "carol pw"}


def to_bob(*args: object) -> bool:
    """A ``MessageNew`` of bob's profile (its last argument)."""
    return args[-1] == "bob"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--absences", type=int, default=2)
    parser.add_argument("--offline-storage", action="store_true",
                        help="the server also keeps the messages for bob's return and pushes them then")
    daemon_profile.add_option(parser, "the catch-ups")
    options = parser.parse_args()
    daemon_profile.arm(options.cprofile)
    with bench_environment(ACCOUNTS, ("bob",), offline_storage=options.offline_storage) as environment, \
            connected_peer(environment.server, "carol", ACCOUNTS["carol"], timeout=300) as carol:
        client, backend = environment.client, environment.backend
        assert backend.process is not None
        bob = f"bob@{environment.server.domain}"
        # a first message, so that the first connection finds a place in the archive
        first = SignalCounter(client, "MessageNew", 1, to_bob)
        carol.send_messages(bob, ["before the first connection"])
        carol.mam_query(with_jid=bob, max_results=1)
        client.connect("bob")
        first.wait(60)
        for absence in range(1, options.absences + 1):
            client.disconnect("bob")
            carol.send_messages(bob, (f"absence {absence}, message {index}" for index in range(options.messages)))
            carol.mam_query(with_jid=bob, max_results=1)  # answered once the messages are archived
            caught_up = SignalCounter(client, "MessageNew", options.messages, to_bob)
            catch_ups_before = len(catch_ups(backend, "bob"))
            with daemon_profile.profiled(backend.process.pid, options.cprofile):
                cpu_before, start = cpu_seconds(backend.process.pid), time.perf_counter()
                client.connect("bob")
                caught_up.wait(300)
                # the catch-up's end too: with offline storage the messages come first
                # pushed by the server, and the catch-up then reads them again
                wait_until(lambda: len(catch_ups(backend, "bob")) > catch_ups_before, 300, "the catch-up's end",
                           interval=0.02)
                wall = time.perf_counter() - start
                cpu_per_message = (cpu_seconds(backend.process.pid) - cpu_before) / options.messages
            pages, fetched, new = catch_ups(backend, "bob")[-1]
            record("catch_up_per_s", options.messages / wall, messages=options.messages, absence=absence,
                   offline_storage=options.offline_storage)
            record("catch_up_cpu_ms", cpu_per_message * 1000, messages=options.messages, absence=absence,
                   offline_storage=options.offline_storage)
            server = "with" if options.offline_storage else "without"
            print(f"reconnection after {options.messages} messages (absence {absence}, server {server} offline "
                  f"storage): {options.messages / wall:.0f} messages/s from Connect to the last MessageNew and "
                  f"the catch-up's end; backend CPU {cpu_per_message * 1000:.3f} ms per message "
                  f"(the catch-up: {pages} pages, {fetched} fetched, {new} new)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
