"""The writes of our client connections once TLS is up, without the per-write reactor
work Twisted does on the asyncio reactor (issue 14, ``MessageSend``).

Twisted's TLS layer gathers the writes of one turn (``_AggregateSmallWrites``) and
flushes them with ``reactor.callLater(0, …)``: a ``DelayedCall`` and a loop
``TimerHandle`` per burst. :func:`flush_tls_writes_soon` gives it a clock whose
``callLater(0, f)`` is one ``loop.call_soon``.

The TLS records it then writes go to Twisted's TCP transport, which buffers them and
waits for writability: an ``add_writer`` and a ``remove_writer`` (two ``epoll_ctl``)
and one more loop turn per stanza, on a socket that nearly always takes the bytes at
once. :func:`send_tls_records_now` sends them with one ``socket.send`` when nothing
waits in the transport's buffer; what the socket does not take, or anything while
something waits, goes Twisted's way (order kept).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


class _SoonCall:
    """What ``callLater(0, f)`` returns on :class:`SoonClock`: the ``IDelayedCall`` part
    that Twisted's TLS aggregator uses (``cancel``, ``active``), over a loop handle."""

    __slots__ = ("_function", "_args", "_handle", "_done")

    def __init__(self, loop: asyncio.AbstractEventLoop, function: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._function = function
        self._args = args
        self._done = False
        self._handle = loop.call_soon(self._run)

    def _run(self) -> None:
        self._done = True
        self._function(*self._args)

    def cancel(self) -> None:
        self._done = True
        self._handle.cancel()

    def active(self) -> bool:
        return not self._done


class SoonClock:
    """The clock given to Twisted's ``_AggregateSmallWrites``: its ``callLater(0, flush)``
    (one per burst of writes) becomes one ``loop.call_soon``. On the asyncio reactor every
    ``callLater`` makes a ``DelayedCall`` and a loop ``TimerHandle`` pushed on the timer
    heap. Any other delay still goes to the reactor."""

    def __init__(self, loop: asyncio.AbstractEventLoop, reactor: Any) -> None:
        self._loop = loop
        self._reactor = reactor

    def callLater(self, delay: float, function: Callable[..., object], *args: Any) -> Any:  # noqa: N802 - IReactorTime
        if delay == 0:
            return _SoonCall(self._loop, function, args)
        return self._reactor.callLater(delay, function, *args)


def _tls_protocol(transport: Any) -> Any:
    """The TLS layer under ``transport``: the transport itself after direct TLS
    (``wrapClientTLS``), its ``protocol`` after STARTTLS; None without TLS."""
    for candidate in (transport, getattr(transport, "protocol", None)):
        if hasattr(candidate, "_tlsConnection"):
            return candidate
    return None


def _tls_aggregator(transport: Any) -> Any:
    """The write aggregator of the TLS layer under ``transport``: the transport itself
    after direct TLS (``wrapClientTLS``), its ``protocol`` after STARTTLS; None if there
    is none (no TLS, or a Twisted without the aggregator)."""
    for candidate in (transport, getattr(transport, "protocol", None)):
        aggregator = getattr(candidate, "_aggregator", None)
        if aggregator is not None:
            return aggregator
    return None


def flush_tls_writes_soon(transport: Any, reactor: Any) -> bool:
    """Have the TLS layer under ``transport`` flush its aggregated writes with
    ``loop.call_soon`` instead of ``reactor.callLater(0, …)`` (see :class:`SoonClock`).

    Only on the asyncio reactor, and only when the aggregator looks like the one this
    was written against (Twisted ≥ 24.7's ``_AggregateSmallWrites`` with a ``_clock``);
    otherwise it is left as it is.

    :returns: whether the clock was replaced.
    """
    loop = getattr(reactor, "_asyncioEventloop", None)
    if loop is None:
        return False
    aggregator = _tls_aggregator(transport)
    if aggregator is None or not hasattr(aggregator, "_clock") or not hasattr(aggregator, "_scheduledFlush"):
        log.debug("no TLS write aggregator to hook on %r: its flushes stay on reactor.callLater", transport)
        return False
    if not isinstance(aggregator._clock, SoonClock):
        aggregator._clock = SoonClock(loop, reactor)
    return True


#: what the TCP transport must have for :class:`SendNow` to tell that its buffer is empty
_BUFFER_ATTRIBUTES = ("socket", "dataBuffer", "offset", "_tempDataLen", "connected", "disconnecting",
                      "_writeDisconnected", "producer")


class SendNow:
    """Stands for the transport the TLS layer writes its records to (the TCP connection,
    or after STARTTLS Twisted's ``_BypassTLS`` over it), forwarding everything but
    :meth:`write`.

    :param transport: what the TLS layer wrote to until now.
    :param connection: the TCP connection (``tcp.Connection``) under it.
    """

    def __init__(self, transport: Any, connection: Any) -> None:
        self._transport = transport
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def write(self, data: bytes) -> None:
        """One ``socket.send`` now when nothing waits in the connection's buffer; the rest
        (or everything while something waits) to the connection's buffer, as Twisted does."""
        connection = self._connection
        if (data and connection.connected and not connection.disconnecting and not connection._writeDisconnected
                and not connection._tempDataLen and connection.offset == len(connection.dataBuffer)
                and connection.producer is None):
            try:
                sent = connection.socket.send(data)
            except OSError:  # EAGAIN, or an error Twisted's next doWrite meets and reports
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        self._transport.write(data)


def send_tls_records_now(transport: Any) -> bool:
    """Have the TLS layer under ``transport`` send its records at once (see :class:`SendNow`).

    Left as it is when there is no TLS layer or the TCP connection under it is not the
    kind this was written against (Twisted's ``tcp.Connection`` buffers).

    :returns: whether the writes now go through :class:`SendNow`.
    """
    tls = _tls_protocol(transport)
    if tls is None:
        log.debug("no TLS layer under %r: its writes stay Twisted's", transport)
        return False
    under = tls.transport
    if isinstance(under, SendNow):
        return True
    connection = getattr(under, "_connection", under)  # after STARTTLS: _BypassTLS
    if not all(hasattr(connection, name) for name in _BUFFER_ATTRIBUTES):
        log.debug("the TCP transport under %r is not Twisted's buffer: its writes stay Twisted's", transport)
        return False
    tls.transport = SendNow(under, connection)
    return True
