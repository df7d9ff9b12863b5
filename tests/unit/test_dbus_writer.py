"""The dbus-fast writer fix on a real socket pair whose send buffer fills up at once.

No bus daemon: the writer only needs a socket, a loop and the few bus attributes it
reads; the far end of the pair reads everything and must get every byte, in order,
while the near end never gives up the connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio.message_bus import _MessageWriter

from sat_bridge import dbus_writer

#: three replies like the ones of the original attack, then many small ones
BIG = 3 * [4 * 1024 * 1024]
SMALL = 50 * [100]


class _WriterHost:
    """The attributes of a dbus-fast ``MessageBus`` that ``_MessageWriter`` uses."""

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._loop = loop
        self._negotiate_unix_fd = False
        self._user_disconnect = False
        self._disconnected = False
        self.unique_name = ":1.42"
        self.finalized: list[Exception | None] = []

    def _finalize(self, err: Exception | None) -> None:
        self.finalized.append(err)


def _message(size: int) -> Message:
    return Message(
        message_type=MessageType.SIGNAL, path="/t", interface="t.T", member="M", signature="s", body=["x" * size]
    )


async def _send_all(sizes: list[int]) -> tuple[bytes, bytes, _WriterHost]:
    """Schedule every message at once, as dbus-fast does for concurrent replies, and read
    the far end until everything arrived or the writer gave up."""
    loop = asyncio.get_running_loop()
    near, far = socket.socketpair()
    try:
        near.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        near.setblocking(False)
        far.setblocking(False)
        host = _WriterHost(near, loop)
        writer = _MessageWriter(host)  # type: ignore[arg-type]
        messages = [_message(size) for size in sizes]
        expected = b"".join(bytes(message._marshall(False)) for message in messages)
        received = bytearray()
        done = loop.create_future()

        def read() -> None:
            try:
                received.extend(far.recv(65536))
            except BlockingIOError:
                return
            if len(received) >= len(expected) and not done.done():
                done.set_result(None)

        loop.add_reader(far.fileno(), read)
        for message in messages:
            writer.schedule_write(message, loop.create_future())
            if host.finalized:
                break
        if not host.finalized:
            await asyncio.wait_for(done, 60)
        loop.remove_reader(far.fileno())
        loop.remove_writer(near.fileno())
        return expected, bytes(received), host
    finally:
        near.close()
        far.close()


def test_full_socket_never_drops_the_connection() -> None:
    assert dbus_writer.install()
    expected, received, host = asyncio.run(_send_all(BIG + SMALL))
    assert host.finalized == []
    assert received == expected


def test_interleaved_big_and_small_messages_arrive_in_order() -> None:
    assert dbus_writer.install()
    sizes = [size for pair in zip(BIG, SMALL) for size in pair] + SMALL
    expected, received, host = asyncio.run(_send_all(sizes))
    assert host.finalized == []
    assert received == expected


def test_an_unknown_writer_is_not_recognised() -> None:
    class OtherWriter:
        def write_callback(self, remove_writer: bool = True) -> None:
            """A later release's writer."""

        def schedule_write(self, msg: Any = None, future: Any = None) -> None:
            """A later release's writer."""

    assert dbus_writer.writer_fingerprint(OtherWriter) not in dbus_writer.KNOWN_WRITERS
    assert dbus_writer.writer_fingerprint(int) is None


def test_install_refuses_an_unknown_writer_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dbus_writer, "_state", {"installed": False, "refused": False})
    monkeypatch.setattr(dbus_writer, "KNOWN_WRITERS", frozenset())
    with caplog.at_level(logging.WARNING, logger="sat_bridge.dbus_writer"):
        assert dbus_writer.install() is False
        assert dbus_writer.install() is False
    assert len([r for r in caplog.records if "not the one sat_bridge knows" in r.getMessage()]) == 1


class _CountingSocket:
    """A socket that counts the ``send`` calls made on it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.sends = 0

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, data: Any) -> int:
        self.sends += 1
        return self._sock.send(data)


@contextmanager
def _counted_writer(loop: asyncio.AbstractEventLoop) -> Iterator[tuple[socket.socket, _CountingSocket, _MessageWriter]]:
    """A writer on one end of a socket pair whose sends are counted; the far end to read."""
    near, far = socket.socketpair()
    with near, far:
        near.setblocking(False)
        counting = _CountingSocket(near)
        host = _WriterHost(near, loop)
        host._sock = counting  # type: ignore[assignment]
        writer = _MessageWriter(host)  # type: ignore[arg-type]
        host._writer = writer  # type: ignore[attr-defined]
        yield far, counting, writer
        loop.remove_writer(near.fileno())
        assert not host.finalized


def test_a_signal_and_the_next_turn_reply_leave_in_one_send() -> None:
    """A method's signals (queued in one turn of the loop) then its reply (in the next
    one): one ``send``, one wake-up of the bus daemon, the bytes in order."""
    assert dbus_writer.install()

    async def scenario() -> tuple[int, bytes, bytes]:
        loop = asyncio.get_running_loop()
        with _counted_writer(loop) as (far, counting, writer):
            messages = [_message(size) for size in (10, 20, 30)]
            futures = [loop.create_future() for _ in messages]
            for message, future in list(zip(messages, futures))[:2]:
                writer.schedule_write(message, future)
            # the reply, sent by the method task's done callback in the next turn
            loop.call_soon(writer.schedule_write, messages[2], futures[2])
            assert counting.sends == 0  # nothing written before the turn ends
            await asyncio.wait_for(asyncio.gather(*futures), 10)
            expected = b"".join(bytes(message._marshall(False)) for message in messages)
            return counting.sends, far.recv(len(expected) + 1), expected

    sends, received, expected = asyncio.run(scenario())
    assert (sends, received) == (1, expected)


def test_flush_writes_what_is_queued_at_once() -> None:
    """Before a disconnect (which shuts the socket at once) the queue leaves now."""
    assert dbus_writer.install()

    async def scenario() -> tuple[int, bytes, bytes]:
        loop = asyncio.get_running_loop()
        with _counted_writer(loop) as (far, counting, writer):
            message = _message(10)
            writer.schedule_write(message, loop.create_future())
            dbus_writer.flush(writer.bus)
            expected = bytes(message._marshall(False))
            return counting.sends, far.recv(len(expected) + 1), expected

    sends, received, expected = asyncio.run(scenario())
    assert (sends, received) == (1, expected)


def test_a_frontend_bus_writes_each_message_as_it_is_queued() -> None:
    """A frontend sends a call and waits for its answer: with :func:`send_at_once` the
    call leaves before the loop turns (the backend's buses still gather, above)."""
    assert dbus_writer.install()

    async def scenario() -> tuple[int, int, bytes, bytes]:
        loop = asyncio.get_running_loop()
        with _counted_writer(loop) as (far, counting, writer):
            dbus_writer.send_at_once(writer.bus)
            first, second = _message(10), _message(20)
            writer.schedule_write(first, loop.create_future())
            sends_after_first = counting.sends
            writer.schedule_write(second, loop.create_future())
            expected = b"".join(bytes(message._marshall(False)) for message in (first, second))
            return sends_after_first, counting.sends, far.recv(len(expected) + 1), expected

    after_first, sends, received, expected = asyncio.run(scenario())
    assert (after_first, sends, received) == (1, 2, expected)
