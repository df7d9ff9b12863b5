"""A stream stops reading while too much waits, and reads again once little does."""

from __future__ import annotations

import pytest

from sat_backend.core.xmpp.reading_pause import ReadingPause


class Transport:
    """Records what the pause asks of it (a Twisted ``IPushProducer``)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")


def test_pauses_at_the_high_mark_once_and_resumes_at_the_low_mark() -> None:
    transport = Transport()
    pause = ReadingPause(high=10, low=4, what="things")
    pause.waiting(9, transport, "alice")
    assert (transport.calls, pause.paused) == ([], False)
    pause.waiting(10, transport, "alice")
    pause.waiting(15, transport, "alice")     # more read meanwhile: paused once
    assert (transport.calls, pause.paused) == (["pause"], True)
    pause.waiting(5, None, "alice")           # between the marks: still paused
    assert transport.calls == ["pause"]
    pause.waiting(4, None, "alice")
    assert (transport.calls, pause.paused) == (["pause", "resume"], False)
    pause.waiting(4, transport, "alice")      # below the high mark again: reading
    assert transport.calls == ["pause", "resume"]


def test_resumes_the_transport_it_paused() -> None:
    """A reconnection meanwhile brings another transport: the paused one is resumed (it
    ignores it if closed), the new one was never paused."""
    first, second = Transport(), Transport()
    pause = ReadingPause(high=3, low=1, what="things")
    pause.waiting(3, first, "alice")
    pause.waiting(0, second, "alice")
    assert (first.calls, second.calls) == (["pause", "resume"], [])


def test_nothing_to_pause_without_a_stream_and_resume_without_pause_is_harmless() -> None:
    pause = ReadingPause(high=2, low=0, what="things")
    pause.waiting(5, None, "alice")
    assert not pause.paused
    pause.resume("alice")
    transport = Transport()
    pause.waiting(5, transport, "alice")
    pause.resume("alice")
    pause.resume("alice")
    assert transport.calls == ["pause", "resume"]


@pytest.mark.parametrize("high, low", [(4, 4), (4, 5), (4, -1)])
def test_the_resume_mark_is_below_the_pause_mark(high: int, low: int) -> None:
    with pytest.raises(ValueError):
        ReadingPause(high=high, low=low, what="things")
