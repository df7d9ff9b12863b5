"""Deleting a profile whose session is busy: peers keep sending it messages, presences,
roster pushes and pubsub notifications while it is disconnected and deleted.

The handlers still running stored for a profile that no longer existed: the log had
"Unhandled error in iq handler" (ProfileUnknown, a roster push) and IntegrityErrors
(foreign key) with tracebacks. Now such work is dropped with an info line, and the
daemon goes on serving the other profiles.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, Iterator

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.xmpp_helpers import create_xmpp_profile, exchange

SERVICE = "pubsub.localhost"
NODE = "busy"
ROUNDS = 4
#: messages sent at once just before the deletion, roster changes per flood step
BURST = 300
ROSTER_BURST = 10
#: bounds of one flood: stanzas per peer, and seconds
FLOOD_COUNT = 400
FLOOD_SECONDS = 20.0
ATOM = "http://www.w3.org/2005/Atom"


class Flood:
    """Runs ``step(n)`` in a thread until stopped, ``FLOOD_COUNT`` steps or ``FLOOD_SECONDS``."""

    def __init__(self, step: Callable[[int], object]) -> None:
        self.step = step
        self.stop = threading.Event()
        self.sent = 0
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + FLOOD_SECONDS
        while not self.stop.is_set() and self.sent < FLOOD_COUNT and time.monotonic() < deadline:
            try:
                self.step(self.sent)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                return
            self.sent += 1

    def __enter__(self) -> Flood:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(FLOOD_SECONDS + 10)


@pytest.fixture
def peers(fresh_prosody: ProsodyServer) -> Iterator[tuple[XmppPeer, XmppPeer]]:
    """carol, and another client of alice's own account (its roster changes are pushed to us)."""
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol, \
            connected_peer(fresh_prosody, "alice", XMPP_ACCOUNTS["alice"]) as alice_elsewhere:
        carol.create_node(SERVICE, NODE, {"pubsub#max_items": "max"})
        yield carol, alice_elsewhere


async def in_loop(function: Callable[..., object], **kwargs: object) -> None:
    """Call a slixmpp method on the peer's own loop (it is not thread-safe)."""
    function(**kwargs)


def entry(text: str) -> str:
    return f"<entry xmlns='{ATOM}'><title>{text}</title><content>{text}</content></entry>"


async def burst(xmpp: Any, round_number: int) -> None:
    """``BURST`` messages to alice sent at once: the backend has them all to store when
    the first one is announced."""
    for n in range(BURST):
        xmpp.send_message(mto="alice@localhost", mbody=f"burst{round_number}-{n}", mtype="chat")


async def roster_burst(xmpp: Any, round_number: int) -> None:
    """Roster changes from alice's other client, pushed by the server to every resource."""
    await asyncio.gather(*(xmpp.update_roster(f"friend{n}@localhost", name=f"b{round_number}-{n}")
                           for n in range(ROSTER_BURST)))


def busy_profile_deleted(client: BridgeClient, prosody: ProsodyServer, carol: XmppPeer,
                         alice_elsewhere: XmppPeer, round_number: int, disconnect_first: bool) -> int:
    create_xmpp_profile(client, prosody, "alice")
    client.connect("alice")
    client.ps_cache_sync(SERVICE, NODE, "alice")  # caches the node and subscribes to it
    announced = SignalRecorder(client, "MessageNew")
    steps = {
        "presences": lambda n: carol.call(lambda xmpp: in_loop(
            xmpp.send_presence, pto="alice@localhost", pstatus=f"p{n}", ptype="subscribe" if n % 10 == 0 else None)),
        "roster": lambda n: alice_elsewhere.call(lambda xmpp: roster_burst(xmpp, n)),
        "pubsub": lambda n: carol.publish(SERVICE, NODE, entry(f"e{round_number}-{n}"), f"i{n % 50}"),
    }
    floods = [Flood(step) for step in steps.values()]
    for flood in floods:
        flood.__enter__()
    try:
        carol.call(lambda xmpp: burst(xmpp, round_number))
        first = f"burst{round_number}-0"
        announced.wait_for("MessageNew", lambda *args: args[4] == {"": first} and args[-1] == "alice")
        if disconnect_first:
            client.disconnect("alice")
        client.profile_delete("alice")
    finally:
        for flood in floods:
            flood.__exit__()
    for name, flood in zip(steps, floods):
        assert not flood.errors, f"{name}: {flood.errors[0]!r}"
    return BURST + sum(flood.sent for flood in floods)


def test_deleting_a_busy_profile_leaves_no_traceback_and_the_daemon_serves_others(
        backend: BackendProcess, fresh_prosody: ProsodyServer, peers: tuple[XmppPeer, XmppPeer]) -> None:
    client = backend.client
    assert client is not None
    carol, alice_elsewhere = peers
    create_xmpp_profile(client, fresh_prosody, "bob")
    client.connect("bob")
    sent = 0
    for round_number in range(ROUNDS):
        sent += busy_profile_deleted(client, fresh_prosody, carol, alice_elsewhere, round_number,
                                     disconnect_first=round_number % 2 == 0)
        with pytest.raises(errors.ProfileUnknown):
            client.is_connected("alice")
    assert sent > 0
    # the daemon still serves bob: a message both ways through the server
    signals = SignalRecorder(client, "MessageNew")
    create_xmpp_profile(client, fresh_prosody, "dave")
    client.connect("dave")
    exchange(client, signals, "bob", "dave", "still served")
    exchange(client, signals, "dave", "bob", "both ways")
    for profile in ("bob", "dave"):
        client.disconnect(profile)
    log = backend.log_text()
    assert "Traceback" not in log
    assert "IntegrityError" not in log and "FOREIGN KEY" not in log.upper()
    assert "Unhandled error" not in log
