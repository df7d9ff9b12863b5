"""Running coroutines from Twisted observers (stanza handlers) safely."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine

log = logging.getLogger(__name__)

#: tasks started from observers, referenced until done (asyncio keeps only weak refs)
_BACKGROUND: set[asyncio.Future[Any]] = set()


def run_in_background(coroutine: Coroutine[Any, Any, Any], what: str) -> None:
    """Run ``coroutine`` without awaiting it; a failure is logged, never raised into the
    stream (a bad stanza must not kill the session)."""
    task = asyncio.ensure_future(coroutine)
    _BACKGROUND.add(task)

    def report(done: asyncio.Future[Any]) -> None:
        _BACKGROUND.discard(done)
        if not done.cancelled() and done.exception() is not None:
            log.error("failed: %s", what, exc_info=done.exception())

    task.add_done_callback(report)


def as_deferred(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """A Deferred for a coroutine run as an asyncio task, for Twisted APIs that expect one
    (IQ handlers). ``Deferred.fromCoroutine`` is not enough: it drives the coroutine
    itself, and awaiting an asyncio future (all our storage) then fails."""
    from twisted.internet.defer import Deferred

    return Deferred.fromFuture(asyncio.ensure_future(coroutine))
