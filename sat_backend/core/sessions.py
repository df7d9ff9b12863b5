"""The XMPP sessions of all profiles: connect, disconnect, autoconnect, and the
per-profile handlers the core and plugins attach to each stream."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionClosed

from sat_backend.core.exceptions import ProfileNotConnected, Timeout
from sat_backend.core.im.background import settle
from sat_backend.core.xmpp.settings import load_settings

if TYPE_CHECKING:
    from twisted.words.protocols.jabber.xmlstream import IQ

    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

#: seconds :meth:`SessionManager.close` waits for a closed session's handlers to finish
SETTLE_TIMEOUT = 10.0

#: builds one handler for a new client stream
HandlerFactory = Callable[["XmppClient"], Any]
#: runs once a stream is open, before the session counts as connected (roster, presence…)
SessionStarter = Callable[["XmppClient"], Awaitable[None]]


async def wait(deferred: Deferred[Any]) -> Any:
    """Await a Twisted Deferred from an asyncio task (house style rule 4)."""
    return await deferred.asFuture(asyncio.get_running_loop())


def open_stream(client: XmppClient) -> Any:
    """The client's stream, for sending a request on it: the one place that reads it.

    A request built after the stream was lost (a background step still running when
    the server went away) used to call ``IQ(None, …).send()`` and die on an
    ``AttributeError`` with a traceback in the log; it is a typed error instead.

    :raises ProfileNotConnected: the session is closed or not open yet.
    """
    stream = client.xmlstream
    if stream is None or not client.is_connected:
        raise ProfileNotConnected(f"profile {client.profile!r} is not connected")
    return stream


def new_iq(client: XmppClient, iq_type: str) -> IQ:
    """An IQ of ``iq_type`` ("get"/"set") on the client's open stream; send it with
    ``.send()`` before any ``await`` (the stream may be gone after one).

    :raises ProfileNotConnected: see :func:`open_stream`.
    """
    from twisted.words.protocols.jabber.xmlstream import IQ  # a stream is open: already imported

    return IQ(open_stream(client), iq_type)


class SessionManager:
    def __init__(self, host: Backend, reactor: Any = None) -> None:
        self.host = host
        self._reactor = reactor
        self.clients: dict[str, XmppClient] = {}
        self.handler_factories: list[HandlerFactory] = []
        self.session_starters: list[SessionStarter] = []
        self._connecting: dict[str, asyncio.Future[bool]] = {}
        self._starting: dict[str, asyncio.Task[None]] = {}

    @property
    def reactor(self) -> Any:
        if self._reactor is None:
            from sat_backend.core import reactor_on_loop

            self._reactor = reactor_on_loop.reactor()
        return self._reactor

    async def answer(self, request: Deferred[Any]) -> Any:
        """The answer to a request sent to our server or a service, awaited at most
        ``[xmpp] request_timeout`` seconds: a peer that never answers must not leave a
        bridge call, or a session start, waiting forever.

        :raises Timeout: no answer in time (the request is cancelled).
        :raises ProfileNotConnected: the stream was lost while waiting (Twisted fails every
            pending request with the reason of the loss; that is a closed session, not a bug,
            and background work such as an archive catch-up must log it without traceback).
        """
        timeout = self.host.config.request_timeout
        request.addTimeout(timeout, self.reactor)
        try:
            return await wait(request)
        except defer.TimeoutError:
            raise Timeout(f"no answer within {timeout:g} s") from None
        except ConnectionClosed as lost:
            raise ProfileNotConnected(f"the session closed before the answer ({lost.__class__.__name__})") from None

    def add_handler_factory(self, factory: HandlerFactory) -> None:
        """Attach a handler made by ``factory`` to every profile's stream (plugins too)."""
        self.handler_factories.append(factory)

    def add_session_starter(self, starter: SessionStarter) -> None:
        """Run ``starter`` each time a stream opens, in registration order, before
        ``Connect`` returns and ``Connected`` is emitted (RFC 6121: roster, then presence)."""
        self.session_starters.append(starter)

    def get_client(self, profile: str) -> XmppClient:
        """:raises ProfileNotConnected: the profile has no open session."""
        client = self.clients.get(profile)
        if client is None or not client.is_connected:
            raise ProfileNotConnected(f"profile {profile!r} is not connected")
        return client

    def is_connected(self, profile: str) -> bool:
        client = self.clients.get(profile)
        return client is not None and client.is_connected

    async def connect(self, profile: str) -> bool:
        """Open ``profile``'s session. Concurrent calls share one attempt.

        :returns: False if it was already connected.
        """
        if self.is_connected(profile):
            return False
        pending = self._connecting.get(profile)
        if pending is not None:
            await asyncio.shield(pending)
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._connecting[profile] = future
        try:
            await self._open(profile)
            future.set_result(True)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the caller gets it below
            raise
        finally:
            del self._connecting[profile]
        return True

    async def _open(self, profile: str) -> None:
        old = self.clients.pop(profile, None)
        if old is not None:
            await wait(old.disconnect())
        # the XMPP client stack (Twisted's jabber client, its XPath parser, SASL,
        # endpoints: ~15 ms) is imported by the first connection, not by a start
        # with it Twisted's XML stream and TLS stack, and the reactor (issue 14)
        from sat_backend.core.xmpp.client import XmppClient
        from tx_xmpp.generic import FallbackHandler

        settings = await load_settings(self.host.params, profile)
        client = XmppClient(profile, settings, self.reactor, self._on_state, self.host.config.max_stanza_size)
        FallbackHandler().setHandlerParent(client)
        for factory in self.handler_factories:
            factory(client).setHandlerParent(client)
        self.clients[profile] = client
        try:
            await wait(client.connect())
        except BaseException:
            if self.clients.get(profile) is client:
                del self.clients[profile]
            raise
        starting = self._starting.get(profile)
        if starting is not None:
            await asyncio.shield(starting)

    async def disconnect(self, profile: str) -> None:
        client = self.clients.pop(profile, None)
        if client is not None:
            await wait(client.disconnect())

    async def close(self, profile: str) -> None:
        """Disconnect ``profile`` and let the work its handlers started finish (at most
        :data:`SETTLE_TIMEOUT` s): before its deletion, so that little of it finds the
        profile gone (what does is dropped, see :mod:`sat_backend.core.im.background`)."""
        await self.disconnect(profile)
        still_running = await settle(profile, SETTLE_TIMEOUT)
        if still_running:
            log.info("%s: %d handler task(s) still running after %g s", profile, still_running, SETTLE_TIMEOUT)

    async def disconnect_all(self) -> None:
        for profile in list(self.clients):
            try:
                await asyncio.wait_for(self.disconnect(profile), 5)
            except Exception:  # noqa: BLE001 - shutting down: keep closing the others
                log.exception("%s: error while disconnecting", profile)

    async def autoconnect(self) -> None:
        """Connect every profile whose ``Connection/Autoconnect`` is true, concurrently;
        failures are logged (the user sees them in the log and ``IsConnected``)."""
        profiles = [
            profile for profile in await self.host.profiles.list()
            if await self.host.params.get_public("Connection", "Autoconnect", profile) == "true"
        ]

        async def connect_one(profile: str) -> None:
            try:
                await self.connect(profile)
            except Exception as exc:  # noqa: BLE001 - one account must not stop the others
                log.error("%s: autoconnect failed: %s", profile, exc)

        await asyncio.gather(*(connect_one(profile) for profile in profiles))

    def _on_state(self, client: XmppClient, connected: bool) -> None:
        if connected:
            task = asyncio.ensure_future(self._start_session(client))
            self._starting[client.profile] = task
            task.add_done_callback(lambda _: self._starting.pop(client.profile, None)
                                   if self._starting.get(client.profile) is task else None)
        else:
            self.host.bridge.emit("Disconnected", client.profile)

    async def _start_session(self, client: XmppClient) -> None:
        for starter in self.session_starters:
            if not client.is_connected:
                return
            try:
                await starter(client)
            except Exception:  # noqa: BLE001 - a failed step must not block the session
                log.exception("%s: session start step %s failed", client.profile, starter)
        if client.is_connected:
            self.host.bridge.emit("Connected", client.jid.full(), client.profile)
