"""Twisted's asyncio reactor, installed on the running asyncio loop at its first use (issue 14).

Why not at start: every Twisted reactor imports ``twisted.internet.tcp``, which imports
Twisted's TLS stack (``twisted.protocols.tls``, pyOpenSSL and ``cryptography``), and a
start needs none of it: storage, the bridge (dbus-fast) and a frontend's first answers
run on the plain asyncio loop. The first code that needs the reactor (a connection, a
request timeout, a plugin's timer) calls :func:`reactor`, which makes the asyncio
reactor on the loop that already runs, installs it as ``twisted.internet.reactor`` and
starts it without ``run()``: ``startRunning`` attaches a reactor to a loop run by someone
else, as Twisted's ``cfreactor`` does. Twisted's signal handlers are not installed: the
launcher's asyncio ones stop the backend, then the reactor (:func:`stop_loop`).

Nothing may ``from twisted.internet import reactor`` before that: the import would
install Twisted's default reactor, which nobody runs. Code reaches it through
:func:`reactor` (or is handed it, as unit tests hand a ``task.Clock``).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

#: where ``installReactor`` puts the reactor
REACTOR_MODULE = "twisted.internet.reactor"


def installed() -> Any | None:
    """The installed reactor, or None while none is."""
    return sys.modules.get(REACTOR_MODULE)


def reactor() -> Any:
    """The running reactor: the asyncio reactor on this thread's loop, installed and
    started at the first call."""
    existing = installed()
    if existing is not None:
        return existing
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor
    from twisted.internet.main import installReactor

    made = AsyncioSelectorReactor(asyncio.get_event_loop())
    installReactor(made)
    made.startRunning(installSignalHandlers=False)
    return made


def stop_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Stop ``loop``; through the reactor's shutdown if one runs on it, so that its
    shutdown triggers run (its thread pool, connections left) before the loop stops
    (the reactor stops the loop last, in its ``crash``)."""
    running = installed()
    if running is not None and running.running:
        running.stop()
    else:
        loop.stop()
