"""Progress of a long operation on stderr: a one-line bar on a terminal, plain lines otherwise.

On a terminal the line is redrawn in place (``\\r``); in a log or a pipe a line is written
at most every ``interval`` seconds, so a script's log shows that work goes on without a
line per item. The clock is injected so tests never wait.
"""

from __future__ import annotations

import time
from typing import Callable, TextIO

BAR_WIDTH = 30


class ProgressLine:
    """Shows "``label`` received/total"; ``total`` 0 means unknown (no bar then)."""

    def __init__(self, stream: TextIO, label: str, *, tty: bool | None = None, interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval
        self.clock = clock
        self._last_line: float | None = None
        self._printed = ""
        self._drawn = False
        self.received = 0
        self.total = 0

    def update(self, received: int, total: int) -> None:
        self.received, self.total = max(received, 0), max(total, 0)
        if self.tty:
            self.stream.write("\r" + self.render() + "\x1b[K")
            self.stream.flush()
            self._drawn = True
            return
        now = self.clock()
        if self._last_line is None or now - self._last_line >= self.interval:
            self._last_line = now
            self._print()

    def render(self) -> str:
        if not self.total:
            return f"{self.label}: {self.received} item(s)"
        done = min(self.received, self.total)
        filled = BAR_WIDTH * done // self.total
        percent = 100 * done // self.total
        return f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{self.total} ({percent}%)"

    def finish(self) -> None:
        """End the bar's line on a terminal; elsewhere, write the last state if not shown yet."""
        if self.tty:
            if self._drawn:
                self.stream.write("\n")
                self.stream.flush()
        elif self._last_line is not None and self.render() != self._printed:
            self._print()

    def _print(self) -> None:
        self._printed = self.render()
        print(self._printed, file=self.stream, flush=True)
