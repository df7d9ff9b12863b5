"""Twisted's TLS write aggregator flushed with ``loop.call_soon`` (issue 14): writes of
one turn still leave in one TLS write, and closing cancels the pending flush."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet import ssl
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.protocols.tls import TLSMemoryBIOFactory, _AggregateSmallWrites

from sat_backend.core.xmpp.tls import SoonClock, flush_tls_writes_soon


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
