"""The deadline of every ringing call: a call nobody answers ends with reason
``timeout`` after ``[calls] ring_timeout`` seconds, whichever side we are on, so that a
peer gone silent (or a callee away from every device) never leaves a call ringing.

The clock is the reactor's (``callLater``), so unit tests drive it with ``task.Clock``.
"""

from __future__ import annotations

from typing import Any, Callable

#: a ringing call: (profile, sid)
CallKey = tuple[str, str]


class RingTimers:
    """One timer per ringing call; starting a call's timer again replaces it."""

    def __init__(self, reactor: Callable[[], Any], timeout: Callable[[], float]) -> None:
        """:param reactor: gives the reactor (looked up when a timer starts, as the
            launcher installs it after plugins are built).
        :param timeout: gives the ring timeout, in seconds."""
        self._reactor = reactor
        self._timeout = timeout
        self._timers: dict[CallKey, Any] = {}

    def start(self, profile: str, sid: str, on_timeout: Callable[[], None]) -> None:
        """Call ``on_timeout`` if the call still rings after the ring timeout."""
        key = (profile, sid)
        self.cancel(profile, sid)

        def fire() -> None:
            del self._timers[key]
            on_timeout()

        self._timers[key] = self._reactor().callLater(self._timeout(), fire)

    def cancel(self, profile: str, sid: str) -> None:
        """The call was answered or ended: no timeout for it (nothing when none runs)."""
        timer = self._timers.pop((profile, sid), None)
        if timer is not None and timer.active():
            timer.cancel()

    def __len__(self) -> int:
        return len(self._timers)
