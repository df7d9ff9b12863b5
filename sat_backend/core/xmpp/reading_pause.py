"""Stop reading a profile's stream while too much of what it brought waits unhandled.

A server relays a burst (a busy pubsub service's notifications) as fast as it can, and
the stream parses faster than the handlers store and signal: 10,000 notifications sent
at once were parsed ahead of their handling, each kept as its tree until its turn, and
the backend ended 115-123 MB large (issue 14: ≤ 100 MB, bounded after a flood). A queue
that refuses what comes past a bound would lose notifications; pausing the transport
loses nothing: the kernel's socket buffer fills, TCP's flow control stops the server,
which keeps the rest until we read again. Only reading stops: what the profile sends
still goes out, and what was read already is still parsed and dispatched (at most one
read's worth past the bound).

A handler run while its stream is paused must never wait for an answer from that stream
(it would wait until the pause ends, which waits for it).
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Reader(Protocol):
    """What a paused transport needs (Twisted's ``IPushProducer``)."""

    def pauseProducing(self) -> None: ...

    def resumeProducing(self) -> None: ...


class ReadingPause:
    """Pauses a stream's transport when ``high`` things wait, resumes it once no more
    than ``low`` do (the gap keeps it from pausing and resuming at every item).

    :param what: names what waits, in log lines.
    """

    def __init__(self, high: int, low: int, what: str) -> None:
        if not 0 <= low < high:
            raise ValueError("the resume mark must be below the pause mark")
        self.high = high
        self.low = low
        self._what = what
        #: the transport paused (resumed even if its stream was replaced meanwhile)
        self._paused: Reader | None = None

    @property
    def paused(self) -> bool:
        return self._paused is not None

    def waiting(self, count: int, transport: Reader | None, profile: str) -> None:
        """``count`` things wait now; ``transport`` is the stream's they come from (None:
        not connected, nothing to pause)."""
        if self._paused is None and count >= self.high and transport is not None:
            log.info("%s: %d %s wait to be handled: reading from the server paused", profile, count, self._what)
            transport.pauseProducing()
            self._paused = transport
        elif self._paused is not None and count <= self.low:
            self.resume(profile)

    def resume(self, profile: str) -> None:
        """Read again (a transport closed meanwhile ignores it)."""
        paused, self._paused = self._paused, None
        if paused is not None:
            log.info("%s: reading from the server resumed", profile)
            paused.resumeProducing()
