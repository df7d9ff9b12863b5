"""Parsed XML is collected by the amount parsed: one full collection per threshold,
scheduled (never run inside the parser), never two waiting at once."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from sat_backend.core.parsed_garbage import ParsedBytes
from sat_backend.core.xmpp.stream import XmlStream


def test_one_collection_per_threshold_scheduled_not_run_inline() -> None:
    scheduled: list[Callable[[], Any]] = []
    collections: list[int] = []
    counter = ParsedBytes(schedule=scheduled.append, collect=lambda: collections.append(1), every=1000,
                          after_collect=lambda: collections.append(2), clock=lambda: 0.0)  # costs nothing
    counter.parsed(600)
    assert scheduled == []
    counter.parsed(600)          # over the threshold: scheduled, not run while parsing
    counter.parsed(5000)         # more meanwhile: still one waiting
    assert (len(scheduled), collections) == (1, [])
    scheduled.pop()()
    assert collections == [1, 2]  # the collection, then the freeze of what new modules made
    counter.parsed(999)          # counted afresh after a collection
    assert scheduled == []
    counter.parsed(1)
    assert len(scheduled) == 1


def test_a_costly_collection_spaces_out_the_next_within_bounds() -> None:
    """A collection that walked many live objects (a burst of notifications queued) makes
    the next wait for more parsing, in proportion to its cost, between the two bounds;
    a cheap one brings the threshold back to the least, and so does one after which the
    heap was frozen (the objects that made it costly are no longer walked)."""
    scheduled: list[Callable[[], Any]] = []
    costs = iter([0.004, 0.030, 0.500, 0.0001, 0.030, 0.030])   # seconds each collection takes
    froze = iter([False, False, False, False, False, True])        # whether the freeze after it froze
    now = [0.0]

    def collect() -> None:
        now[0] += next(costs)

    counter = ParsedBytes(schedule=scheduled.append, collect=collect, every=1000, after_collect=lambda: next(froze),
                          clock=lambda: now[0], per_collection_second=100_000, at_most_every=5000)

    def collect_after(size: int) -> None:
        counter.parsed(size - 1)
        assert scheduled == []
        counter.parsed(1)
        scheduled.pop()()

    collect_after(1000)
    assert counter.threshold == 1000     # 4 ms x 100,000 bytes/s = 400: the least is kept
    collect_after(1000)
    assert counter.threshold == 3000     # 30 ms: three times the least
    collect_after(3000)
    assert counter.threshold == 5000     # 500 ms would be 50,000: the most
    collect_after(5000)
    assert counter.threshold == 1000     # cheap again
    collect_after(1000)
    assert counter.threshold == 3000
    collect_after(3000)
    assert counter.threshold == 1000     # as costly, but what it walked is frozen now


def test_a_parsed_stanza_is_garbage_only_the_cyclic_collector_frees() -> None:
    """Why the collection is needed at all: domish elements point to their parent."""
    import weakref

    from twisted.words.xish import domish

    gc.disable()
    try:
        root = domish.Element((None, "iq"))
        root.addElement("query").addElement("item")
        alive = weakref.ref(root)
        del root
        assert alive() is not None     # a cycle: reference counting alone keeps it
        gc.collect()
        assert alive() is None
    finally:
        gc.enable()


def test_the_xmpp_stream_counts_what_it_parses(monkeypatch: Any) -> None:
    counted: list[int] = []
    monkeypatch.setattr("sat_backend.core.xmpp.stream.PARSED.parsed", counted.append)
    stream = XmlStream(authenticator=_NoAuthenticator())
    stream._initializeStream()   # what connectionMade does first
    header = b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    stream.dataReceived(header)
    assert counted == [len(header)]


def test_a_dispatched_stanza_is_freed_without_the_collector() -> None:
    """Once dispatched, a stanza's children no longer point to their parents: it is freed
    by reference counting when its handlers drop it, and what a handler keeps of it is
    still readable downwards (issue 14: the collections a burst of pubsub notifications
    needed)."""
    import weakref

    stream = XmlStream(authenticator=_NoAuthenticator())
    stream._initializeStream()
    received: list[Any] = []
    stream.addObserver("/message", received.append)
    gc.disable()
    try:
        stream.dataReceived(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        stream.dataReceived(b"<message from='pubsub.example' to='a@example'>"
                            b"<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='n'>"
                            b"<item id='1'><entry xmlns='urn:t'><title>hi</title></entry></item></items></event></message>")
        message = received.pop()
        item = next(message.event.items.elements())
        stanza = weakref.ref(message)
        del message
        assert stanza() is None
        assert (item["id"], item.parent, str(item.entry.title)) == ("1", None, "hi")
    finally:
        gc.enable()


class _NoAuthenticator:
    def associateWithStream(self, xs: Any) -> None:
        pass

    def streamStarted(self, root: Any) -> None:
        pass
