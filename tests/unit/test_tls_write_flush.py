"""Twisted's TLS write aggregator flushed with ``loop.call_soon`` (issue 14): writes of
one turn still leave in one TLS write, and closing cancels the pending flush; TLS
records sent at once when nothing waits in Twisted's TCP buffer, in order otherwise."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet import ssl, tcp
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.protocols.tls import TLSMemoryBIOFactory, _AggregateSmallWrites

from sat_backend.core.xmpp.tls_writes import SendNow, SoonClock, flush_tls_writes_soon, send_tls_records_now


class AsyncioReactorStub(Clock):
    """A reactor clock with the asyncio reactor's loop attribute; counts its callLater."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        super().__init__()
        if loop is not None:
            self._asyncioEventloop = loop


class TransportStub:
    """Stands for a direct-TLS transport (the TLS protocol itself)."""

    def __init__(self, reactor: Clock, written: list[bytes]) -> None:
        self._aggregator = _AggregateSmallWrites(written.append, reactor)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def one_turn(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0))


def test_writes_of_one_turn_are_flushed_once_by_call_soon(loop: asyncio.AbstractEventLoop) -> None:
    reactor, written = AsyncioReactorStub(loop), []
    transport = TransportStub(reactor, written)
    assert flush_tls_writes_soon(transport, reactor)
    for part in (b"<message>", b"<body>hi</body>", b"</message>"):
        transport._aggregator.write(part)
    assert written == [] and reactor.getDelayedCalls() == []
    one_turn(loop)
    assert written == [b"<message><body>hi</body></message>"]
    transport._aggregator.write(b"<presence/>")
    one_turn(loop)
    assert written[1:] == [b"<presence/>"]


def test_close_flushes_and_cancels_the_pending_call(loop: asyncio.AbstractEventLoop) -> None:
    reactor, written = AsyncioReactorStub(loop), []
    transport = TransportStub(reactor, written)
    flush_tls_writes_soon(transport, reactor)
    transport._aggregator.write(b"<presence type='unavailable'/>")
    pending = transport._aggregator._scheduled
    assert pending.active()
    transport._aggregator.close()
    assert written == [b"<presence type='unavailable'/>"]
    assert not pending.active() and pending._handle.cancelled()
    one_turn(loop)
    assert len(written) == 1


def test_other_delays_still_go_to_the_reactor(loop: asyncio.AbstractEventLoop) -> None:
    reactor = AsyncioReactorStub(loop)
    called: list[int] = []
    SoonClock(loop, reactor).callLater(5, called.append, 1)
    assert len(reactor.getDelayedCalls()) == 1
    reactor.advance(5)
    assert called == [1]


def test_real_tls_transport_is_hooked_after_starttls_and_direct_tls(loop: asyncio.AbstractEventLoop) -> None:
    reactor = AsyncioReactorStub(loop)
    factory = TLSMemoryBIOFactory(ssl.optionsForClientTLS("example.org"), True,
                                  Factory.forProtocol(Protocol), reactor)
    tls_protocol: Any = factory.buildProtocol(None)

    class StartTlsTransport:  # twisted.internet._newtls puts the TLS layer in .protocol
        protocol = tls_protocol

    assert flush_tls_writes_soon(StartTlsTransport(), reactor)
    assert isinstance(tls_protocol._aggregator._clock, SoonClock)
    assert flush_tls_writes_soon(tls_protocol, reactor)  # direct TLS: again, unchanged


def test_left_alone_without_asyncio_loop_or_aggregator(loop: asyncio.AbstractEventLoop) -> None:
    plain_reactor = AsyncioReactorStub(None)
    transport = TransportStub(plain_reactor, [])
    assert not flush_tls_writes_soon(transport, plain_reactor)
    assert transport._aggregator._clock is plain_reactor
    assert not flush_tls_writes_soon(object(), AsyncioReactorStub(loop))  # no TLS, or another Twisted


# TLS records sent at once (SendNow) ---------------------------------------------------


@pytest.fixture
def tcp_pair() -> Iterator[tuple[Any, socket.socket, MemoryReactorClock]]:
    """A Twisted TCP connection over one end of a socket pair (``connected`` as after
    connect), the other end, and the reactor that would watch writability."""
    ours, theirs = socket.socketpair()
    reactor = MemoryReactorClock()
    connection = tcp.Connection(ours, Protocol(), reactor)
    connection.connected = 1
    theirs.setblocking(False)
    yield connection, theirs, reactor
    ours.close()
    theirs.close()


class TlsLayerStub:
    """The TLS protocol as far as the hook sees it: a TLS connection, a transport."""

    _tlsConnection = object()

    def __init__(self, transport: Any) -> None:
        self.transport = transport


def received(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return data
        data += chunk


def test_records_are_sent_at_once_without_watching_writability(tcp_pair: Any) -> None:
    connection, theirs, reactor = tcp_pair
    tls = TlsLayerStub(connection)  # direct TLS: the TLS layer writes to the TCP connection
    assert send_tls_records_now(tls)
    assert isinstance(tls.transport, SendNow) and tls.transport.getHandle() is connection.socket  # forwarded
    tls.transport.write(b"<message/>")
    assert received(theirs) == b"<message/>"
    assert reactor.getWriters() == []


def test_records_wait_behind_what_twisted_buffered(tcp_pair: Any) -> None:
    connection, theirs, reactor = tcp_pair

    class BypassStub:  # after STARTTLS the TLS layer writes through Twisted's _BypassTLS
        _connection = connection

        def write(self, data: bytes) -> None:
            connection.write(data)

    tls = TlsLayerStub(BypassStub())
    assert send_tls_records_now(tls)
    connection.write(b"first ")  # buffered by Twisted, waiting for writability
    tls.transport.write(b"second")
    assert received(theirs) == b"" and reactor.getWriters() == [connection]
    connection.doWrite()
    assert received(theirs) == b"first second"


def test_what_the_socket_does_not_take_is_buffered_in_order(tcp_pair: Any) -> None:
    connection, theirs, _ = tcp_pair
    connection.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    tls = TlsLayerStub(connection)
    send_tls_records_now(tls)
    blob = bytes(range(256)) * 4096  # 1 MiB: more than the socket takes at once
    tls.transport.write(blob)
    tls.transport.write(b"after")
    got = received(theirs)
    assert len(got) < len(blob)  # the socket took a part, Twisted holds the rest
    while connection.dataBuffer[connection.offset:] or connection._tempDataLen:
        connection.doWrite()
        got += received(theirs)
    assert got + received(theirs) == blob + b"after"


def test_writes_left_to_twisted_without_a_tls_layer_or_its_buffer() -> None:
    assert not send_tls_records_now(object())
    assert not send_tls_records_now(TlsLayerStub(object()))
