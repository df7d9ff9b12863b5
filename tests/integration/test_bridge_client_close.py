"""Closing a client while other calls wait for their reply: they end with
``BridgeUnavailable`` instead of waiting forever on a stopped loop (the blocking client),
or with a bare ``EOFError`` (the async one); later calls are refused the same way.

The service is the backend's own ``DBusBridge`` on the private session bus, serving one
plugin-style method that answers only when the test releases it; the clients learn it
by introspection, as they learn a third-party plugin's members.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from types import SimpleNamespace
from typing import Iterator

import pytest

from sat_bridge.client import AsyncBridgeClient, BridgeClient, BridgeUnavailable
from sat_bridge.service import DBusBridge
from sat_bridge.spec import BridgeSpec, Method, Signal
from tests.fixtures.dbus import PrivateBus

#: bound of every wait of these tests (they normally take milliseconds)
WAIT = 10.0


class HangingService:
    """``DBusBridge`` serving ``TestHang`` in a thread of its own: each call is put on
    :attr:`calls` when it arrives, and answers only after :meth:`release`; it emits the
    signal ``TestPing`` on :meth:`ping`."""

    def __init__(self, bus_address: str) -> None:
        self.bus_address = bus_address
        self.calls: queue.Queue[str] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hanging service", daemon=True)
        self._released = asyncio.Event()
        self._bridge = DBusBridge(BridgeSpec(), bus_address)
        self._bridge.add_method(Method("TestHang", "plugin", (), "s", "Answers when the test says so."),
                                self._hang)
        self._bridge.add_signal(Signal("TestPing", "plugin", (), "Sent when the test says so."))

    async def _hang(self) -> str:
        self.calls.put("TestHang")
        await self._released.wait()
        return "released"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._bridge.start(), self._loop).result(WAIT)

    def wait_for_calls(self, count: int) -> None:
        """Return once ``count`` calls are waiting in the service (bounded)."""
        for _ in range(count):
            self.calls.get(timeout=WAIT)

    def ping(self) -> None:
        self._loop.call_soon_threadsafe(self._bridge.emit, "TestPing")

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._released.set)

    def stop(self) -> None:
        self.release()
        asyncio.run_coroutine_threadsafe(self._bridge.stop(), self._loop).result(WAIT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT)
        self._loop.close()


@pytest.fixture
def hanging_service(session_bus: PrivateBus) -> Iterator[HangingService]:
    service = HangingService(session_bus.address)
    service.start()
    yield service
    service.stop()


def waiting_calls(client: BridgeClient, count: int) -> tuple[list[threading.Thread], queue.Queue[object]]:
    """``count`` threads, started, each calling ``TestHang`` (held by the service) and
    putting what the call ended with (its result or its exception) in the queue."""
    outcomes: queue.Queue[object] = queue.Queue()

    def waiting_call() -> None:
        try:
            outcomes.put(client.call("TestHang", timeout=60))
        except BaseException as exc:  # noqa: BLE001 - what the call ended with is the subject
            outcomes.put(exc)

    callers = [threading.Thread(target=waiting_call, daemon=True) for _ in range(count)]
    for caller in callers:
        caller.start()
    return callers, outcomes


def test_close_ends_the_calls_other_threads_wait_on(hanging_service: HangingService) -> None:
    client = BridgeClient(hanging_service.bus_address)
    callers, outcomes = waiting_calls(client, 2)
    hanging_service.wait_for_calls(2)  # both in flight, the service holds them
    client.close()
    for caller in callers:
        caller.join(WAIT)
        assert not caller.is_alive(), "a call still waits after close()"
    for _ in callers:
        outcome = outcomes.get_nowait()
        assert isinstance(outcome, BridgeUnavailable), outcome
        assert "closed while waiting for TestHang" in str(outcome)
    with pytest.raises(BridgeUnavailable, match="closed"):
        client.call("TestHang")
    client.close()  # twice is harmless


def test_a_signal_callback_may_close_the_client(hanging_service: HangingService) -> None:
    """close() from the client's own loop thread (a callback) neither blocks that loop
    nor leaves the other calls waiting."""
    client = BridgeClient(hanging_service.bus_address)
    client.on_signal("TestPing", client.close)
    (caller,), outcomes = waiting_calls(client, 1)
    hanging_service.wait_for_calls(1)
    hanging_service.ping()
    caller.join(WAIT)
    assert not caller.is_alive(), "the call still waits after close() from the loop thread"
    outcome = outcomes.get_nowait()
    assert isinstance(outcome, BridgeUnavailable) and "closed while waiting" in str(outcome), outcome
    client._thread.join(WAIT)
    assert not client._thread.is_alive(), "the loop thread did not stop"


def test_async_close_ends_the_calls_still_waiting(hanging_service: HangingService) -> None:
    async def scenario() -> None:
        client = await AsyncBridgeClient.open_bus(hanging_service.bus_address)
        waiting = asyncio.ensure_future(client.call("TestHang", timeout=60))
        await asyncio.to_thread(hanging_service.wait_for_calls, 1)
        await client.close()
        with pytest.raises(BridgeUnavailable, match="closed while waiting for TestHang"):
            await asyncio.wait_for(waiting, WAIT)
        with pytest.raises(BridgeUnavailable, match="closed"):
            await asyncio.wait_for(client.call("TestHang"), WAIT)
        await client.close()  # twice is harmless

    asyncio.run(scenario())


def test_a_call_unanswered_within_its_timeout_ends_and_the_client_goes_on(hanging_service: HangingService) -> None:
    """The timeout of a call ends it with ``BridgeUnavailable`` naming the wait; the same
    client's next call is answered (the blocking client, then the async one)."""
    with BridgeClient(hanging_service.bus_address) as client:
        with pytest.raises(BridgeUnavailable, match="TestHang: no answer from the backend in 0.2 s"):
            client.call("TestHang", timeout=0.2)

    async def scenario() -> str:
        client = await AsyncBridgeClient.open_bus(hanging_service.bus_address)
        try:
            with pytest.raises(BridgeUnavailable, match="TestHang: no answer from the backend in 0.2 s"):
                await client.call("TestHang", timeout=0.2)
            hanging_service.release()
            return str(await client.call("TestHang", timeout=WAIT))
        finally:
            await client.close()

    assert asyncio.run(scenario()) == "released"


def test_a_call_while_the_loop_closes_is_refused_as_closed(hanging_service: HangingService) -> None:
    """Between the loop's ``close()`` and the end of its thread, handing a call over raises
    ``RuntimeError``: the caller gets ``BridgeUnavailable`` instead, on both paths (a
    method the spec knows, one learnt by introspection)."""
    client = BridgeClient(hanging_service.bus_address)
    client._loop.call_soon_threadsafe(client._loop.stop)
    client._thread.join(WAIT)
    assert client._loop.is_closed()
    client._thread = SimpleNamespace(is_alive=lambda: True, join=lambda _timeout: None)  # type: ignore[assignment]
    for call in (client.get_version, lambda: client.call("TestNotLearntYet")):
        with pytest.raises(BridgeUnavailable, match="this bridge client is closed"):
            call()
