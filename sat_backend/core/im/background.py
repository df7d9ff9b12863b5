"""Running coroutines from Twisted observers (stanza handlers) safely.

A handler's work may outlive its profile: ``ProfileDelete`` closes the session, waits a
moment for the work in flight (:func:`settle`), then deletes; what still runs after that
finds the profile gone (``ProfileUnknown``). That is the normal end of such work, not a
fault: it is dropped with an info line, without a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine

from sat_backend.core.exceptions import ProfileNotConnected, ProfileUnknown

log = logging.getLogger(__name__)

#: tasks started from observers, referenced until done (asyncio keeps only weak refs),
#: with the profile they work for (None: not said)
_BACKGROUND: dict[asyncio.Future[Any], str | None] = {}


def run_in_background(coroutine: Coroutine[Any, Any, Any], what: str, profile: str | None = None) -> None:
    """Run ``coroutine`` without awaiting it; a failure is logged, never raised into the
    stream (a bad stanza must not kill the session).

    :param profile: the profile it works for, so that :func:`settle` waits for it.
    """
    task = asyncio.ensure_future(coroutine)
    _BACKGROUND[task] = profile

    def report(done: asyncio.Future[Any]) -> None:
        _BACKGROUND.pop(done, None)
        if not done.cancelled() and done.exception() is not None:
            log_failure(what, done.exception())

    task.add_done_callback(report)


def log_failure(what: str, exc: BaseException | None) -> None:
    """Log a handler's failure: at info without traceback when its profile was deleted
    or its session closed meanwhile (a catch-up whose stream went away before its next
    request: the next connection does the work again), else as the bug it is (error,
    traceback)."""
    if isinstance(exc, ProfileUnknown):
        log.info("dropped (%s): the profile no longer exists", what)
    elif isinstance(exc, ProfileNotConnected):
        log.info("dropped (%s): the session closed meanwhile", what)
    else:
        log.error("failed: %s", what, exc_info=exc)


async def settle(profile: str, timeout: float) -> int:
    """Wait at most ``timeout`` seconds for the background work of ``profile`` started so far.

    :returns: how many tasks were still running at the end (they will find the profile gone).
    """
    pending = [task for task, owner in _BACKGROUND.items() if owner == profile and not task.done()]
    if not pending:
        return 0
    _done, still_running = await asyncio.wait(pending, timeout=timeout)
    return len(still_running)


def as_deferred(coroutine: Coroutine[Any, Any, Any], profile: str | None = None) -> Any:
    """A Deferred for a coroutine run as an asyncio task, for Twisted APIs that expect one
    (IQ handlers). ``Deferred.fromCoroutine`` is not enough: it drives the coroutine
    itself, and awaiting an asyncio future (all our storage) then fails.

    A request for a profile deleted meanwhile is answered ``service-unavailable`` and
    logged at info (tx-xmpp would log any other error as unhandled, with a traceback).
    """
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure
    from twisted.words.protocols.jabber.error import StanzaError

    task = asyncio.ensure_future(coroutine)
    _BACKGROUND[task] = profile
    task.add_done_callback(lambda done: _BACKGROUND.pop(done, None))

    def profile_gone(failure: Failure) -> Failure:
        failure.trap(ProfileUnknown)
        log.info("dropped a request for profile %r: it no longer exists", profile)
        return Failure(StanzaError("service-unavailable"))

    return Deferred.fromFuture(task).addErrback(profile_gone)
