"""Collect the cyclic garbage of parsed XML by the amount parsed, not by CPython's counts.

Every element Twisted's ``domish`` builds points to its parent and the parent to its
children: a parsed stanza is a reference cycle, freed only by the cyclic garbage
collector. A big one (a page of 1,000 pubsub items, a roster) lives long enough while
it is handled to reach the oldest generation, which CPython collects rarely; the next
big one is then parsed into new memory, and the allocator keeps the high-water mark.
Measured on the 1,000-item pubsub run of ``bench/bench_pubsub_cache.py`` (issue 14):
five reads of the node from the service (~300 KB of XML each) left the backend 9-10 MB
larger; with a full collection after each, not at all (RSS 104.6 -> 94.7 MB at the end).

So the streams count the bytes they parse, and once :data:`COLLECT_EVERY` bytes were
parsed a full collection runs as soon as the reactor is free (the objects made at start
are frozen, :func:`~sat_backend.core.launcher.resume_gc_after_start`, and so are those
of the modules imported later, after the first full collection that follows their
import, :mod:`~sat_backend.core.frozen_heap`: a collection only walks what came later,
~2 ms). A flood of chat messages reaches the threshold every
~500 messages: a few µs per message.

Most stanzas are small and their cycles need no collector at all: once a stanza has
been dispatched, the stream unlinks its children from their parents
(:func:`unlink_parents`), so that it is freed by reference counting as soon as no
handler holds it. Before, a burst of 1,000 pubsub notifications left every stanza to
the collector: its collections, automatic ones included, took ~15% of the main thread
(issue 14, ``bench/bench_pubsub_ingest.py``).

A full collection walks every object alive, garbage or not. During a burst of
notifications the stanzas parsed but not handled yet are alive (queued, each with its
tree): 5,000 notifications sent at once left up to ~55,000 objects to walk, and each
collection took 15-38 ms instead of ~2, ~10 % of the daemon's CPU over the burst, to
free at most ~100 objects. So the next collection waits for an amount of parsing in
proportion to what the last one cost (:data:`BYTES_PER_COLLECTION_SECOND`), never less
than :data:`COLLECT_EVERY` nor more than :data:`COLLECT_AT_MOST_EVERY`: collecting stays
a bounded share of the parsing work however much is alive.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from twisted.words.xish import domish

from sat_backend.core import frozen_heap

#: bytes of XML parsed between two full collections, at least
COLLECT_EVERY = 256 * 1024
#: bytes parsed before the next collection per second the last one took: a ~2 ms
#: collection (few objects alive beyond the frozen ones) waits for COLLECT_EVERY
BYTES_PER_COLLECTION_SECOND = 128 * 1024 * 1024
#: the longest wait, in bytes parsed, whatever the last collection cost (what a
#: stanza leaves to the collector is still freed within a bounded amount of parsing)
COLLECT_AT_MOST_EVERY = 4 * 1024 * 1024


class ParsedBytes:
    """Counts parsed bytes and has a full collection run once per :data:`COLLECT_EVERY`.

    :param schedule: runs its argument soon, after the current handlers (the reactor's
        ``callLater(0, …)`` by default, looked up at the first use).
    :param collect: the collection (``gc.collect``).
    :param after_collect: run right after it (freezes the objects of modules imported
        since the last freeze, which every full collection would walk again); true when
        it froze objects.
    :param clock: times the collection (this thread's CPU clock: what it costs the
        daemon, not how long another process held the core meanwhile).
    """

    def __init__(self, schedule: Callable[[Callable[[], Any]], Any] | None = None,
                 collect: Callable[[], Any] = gc.collect, every: int = COLLECT_EVERY,
                 after_collect: Callable[[], bool | None] = frozen_heap.freeze_if_modules_were_loaded,
                 clock: Callable[[], float] = time.thread_time,
                 per_collection_second: int = BYTES_PER_COLLECTION_SECOND,
                 at_most_every: int = COLLECT_AT_MOST_EVERY) -> None:
        self._schedule = schedule
        self._collect = collect
        self._after_collect = after_collect
        self._clock = clock
        self._every = every
        self._per_collection_second = per_collection_second
        self._at_most_every = at_most_every
        #: bytes to parse before the next collection (see the module's docstring)
        self.threshold = every
        self._parsed = 0
        self._pending = False

    def parsed(self, size: int) -> None:
        """``size`` more bytes were parsed."""
        self._parsed += size
        if self._parsed >= self.threshold and not self._pending:
            self._pending = True
            self._scheduler()(self._run)

    def _run(self) -> None:
        self._pending = False
        self._parsed = 0
        started = self._clock()
        self._collect()
        cost = self._clock() - started
        if self._after_collect():  # what made this one costly is frozen: the next walks less
            self.threshold = self._every
        else:
            self.threshold = min(self._at_most_every, max(self._every, int(cost * self._per_collection_second)))

    def _scheduler(self) -> Callable[[Callable[[], Any]], Any]:
        if self._schedule is None:
            from sat_backend.core.reactor_on_loop import reactor

            running = reactor()
            self._schedule = lambda call: running.callLater(0, call)
        return self._schedule


#: the process's counter, fed by every XMPP stream
PARSED = ParsedBytes()


def unlink_parents(element: domish.Element) -> None:
    """Set the ``parent`` of every descendant of ``element`` to None (children lists are
    kept): the tree is no longer a reference cycle. For a stanza already dispatched,
    whose handlers read what they keep downwards (children, attributes), never upwards."""
    stack = [element]
    while stack:
        for child in stack.pop().children:
            if isinstance(child, domish.Element):
                child.parent = None
                stack.append(child)
