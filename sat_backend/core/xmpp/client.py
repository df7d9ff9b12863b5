"""One profile's XMPP client stream (RFC 6120) on Twisted, managed for a desktop user.

:class:`XmppClient` is tx-xmpp's ``StreamManager`` (handlers attach to it as usual) plus
what a desktop client needs: STARTTLS or direct TLS (XEP-0368) with the certificate
always verified, SCRAM authentication, a first connection whose failure is reported
with a typed error (``AuthFailed``, ``Network``, ``Timeout``), and once connected,
reconnection with backoff and jitter whenever the connection is lost, until
:meth:`XmppClient.disconnect`. A refused password is never retried in a loop.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.words.protocols.jabber import client, error, sasl, xmlstream
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from tx_xmpp.subprotocols import StreamManager

from sat_backend.core.config import DEFAULT_MAX_STANZA_SIZE
from sat_backend.core.exceptions import AuthFailed, BridgeError, Network, ProfileNotConnected, Timeout
from sat_backend.core.xmpp.backoff import Backoff
from sat_backend.core.xmpp.sasl import SaslInitializer
from sat_backend.core.xmpp.settings import ConnectionSettings
from sat_backend.core.xmpp.stream import UnsendableStanza, XmlStream
from sat_backend.core.xmpp.tls import client_tls_options, describe_tls_failure
from sat_backend.core.xmpp.tls_writes import flush_tls_writes_soon, send_tls_records_now

log = logging.getLogger(__name__)

#: seconds a connection attempt may take, TCP + TLS + authentication + bind
CONNECT_TIMEOUT = 30.0

#: stream features named in an error message at most (their names come from the server)
MAX_FEATURES_SHOWN = 10

#: called with (client, connected) each time the session opens or is lost
StateListener = Callable[["XmppClient", bool], None]


class ClientAuthenticator(xmlstream.ConnectAuthenticator):
    """Stream initialisation of the client: TLS per the profile's mode, SASL, bind."""

    namespace = "jabber:client"

    def __init__(self, jid: JID, password: str, tls_mode: str, tls_options: Any) -> None:
        super().__init__(jid.host)
        self.jid = jid
        self.password = password
        self.tls_mode = tls_mode
        self.tls_options = tls_options

    def associateWithStream(self, xs: xmlstream.XmlStream) -> None:
        xmlstream.ConnectAuthenticator.associateWithStream(self, xs)
        initializers: list[Any] = [client.CheckVersionInitializer(xs)]
        if self.tls_mode in ("required", "starttls-optional"):
            initializers.append(
                xmlstream.TLSInitiatingInitializer(
                    xs, required=self.tls_mode == "required", configurationForTLS=self.tls_options
                )
            )
        initializers += [
            SaslInitializer(xs, required=True),
            client.BindInitializer(xs, required=True),
            client.SessionInitializer(xs, required=False),
        ]
        xs.initializers = initializers


class XmppClient(StreamManager):  # type: ignore[misc]
    """The XMPP session of one profile."""

    #: StreamManager's queue of what was sent while offline (flushed by :meth:`_flush_queue`)
    _packetQueue: list[Any]

    def __init__(
        self, profile: str, settings: ConnectionSettings, reactor: Any, on_state: StateListener,
        max_stanza_size: int = DEFAULT_MAX_STANZA_SIZE,
    ) -> None:
        self.profile = profile
        self.settings = settings
        self.jid: JID = settings.jid
        tls_options = None
        if settings.tls_mode != "none":
            tls_options = client_tls_options(settings.domain, settings.ca_file)
        self._tls_options: Any = tls_options
        self.authenticator = ClientAuthenticator(
            JID(settings.jid.userhost()), settings.password, settings.tls_mode, tls_options
        )
        factory = xmlstream.XmlStreamFactory(self.authenticator)
        factory.protocol = XmlStream  # refuses DTDs: no entity expansion from the network
        factory.kwargs = {"max_stanza_size": max_stanza_size}  # nor sends what the server refuses
        super().__init__(factory, reactor)
        factory.addBootstrap(xmlstream.STREAM_ERROR_EVENT, self._on_stream_error)
        self.backoff = Backoff()
        self._on_state = on_state
        self._wanted = False
        self._attempt_result: defer.Deferred[None] | None = None
        self._attempt_timeout: Any = None
        self._stream_error: error.StreamError | None = None
        self._parse_error: Exception | None = None
        self._reconnect_call: Any = None
        self._closed_waiters: list[defer.Deferred[None]] = []

    # public API ---------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return bool(self._initialized and self.xmlstream is not None)

    def connect(self) -> defer.Deferred[None]:
        """Open the session; fires once authenticated and bound.

        :raises AuthFailed: the server refused the credentials.
        :raises Network: the server cannot be reached, TLS failed or the stream was refused.
        :raises Timeout: no session after :data:`CONNECT_TIMEOUT` seconds.
        """
        self._wanted = True
        attempt = self._attempt()

        def forget_wish(failure: Failure) -> Failure:
            self._wanted = False
            return failure

        return attempt.addErrback(forget_wish)

    def disconnect(self) -> defer.Deferred[None]:
        """Close the session and stop reconnecting; fires once the stream is closed."""
        self._wanted = False
        if self._reconnect_call is not None and self._reconnect_call.active():
            self._reconnect_call.cancel()
        self._reconnect_call = None
        stream = self.xmlstream
        if stream is None or stream.transport is None:
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred()
        self._closed_waiters.append(waiter)
        try:
            if self._initialized:
                stream.sendFooter()
        finally:
            stream.transport.loseConnection()
        return waiter

    def send_stanza(self, element: domish.Element | str) -> None:
        """Send now, or fail: unlike ``send``, never queue a stanza while offline
        (``element`` may be a stanza already written, :func:`~..im.message_stanza.message_xml`).

        :raises ProfileNotConnected: the session is not open.
        """
        if not self.is_connected:
            raise ProfileNotConnected(f"profile {self.profile!r} is not connected")
        self.xmlstream.send(element)

    # connection attempts ----------------------------------------------------------------

    def _endpoint(self) -> Any:
        endpoint: Any = HostnameEndpoint(self._reactor, self.settings.host, self.settings.port, timeout=CONNECT_TIMEOUT)
        if self.settings.tls_mode == "direct":
            return wrapClientTLS(self._tls_options, endpoint)
        return endpoint

    def _attempt(self) -> defer.Deferred[None]:
        result: defer.Deferred[None] = defer.Deferred()
        self._attempt_result = result
        self._stream_error = self._parse_error = None
        self._attempt_timeout = self._reactor.callLater(CONNECT_TIMEOUT, self._on_attempt_timeout)
        log.info("%s: connecting to %s:%d (TLS %s)", self.profile, self.settings.host,
                 self.settings.port, self.settings.tls_mode)
        connecting = self._endpoint().connect(self.factory)
        connecting.addErrback(lambda failure: self._end_attempt(Network(
            f"cannot reach {self.settings.host}:{self.settings.port}: {failure.getErrorMessage()}"
        )))
        return result

    def _end_attempt(self, failure: BridgeError | None) -> None:
        """Fire the pending attempt's Deferred once: success (None) or the typed error."""
        result, self._attempt_result = self._attempt_result, None
        if self._attempt_timeout is not None and self._attempt_timeout.active():
            self._attempt_timeout.cancel()
        self._attempt_timeout = None
        if result is None:
            return
        if failure is None:
            result.callback(None)
        else:
            log.warning("%s: connection failed: %s", self.profile, failure)
            result.errback(failure)

    def _on_attempt_timeout(self) -> None:
        self._attempt_timeout = None
        where = f"{self.settings.host}:{self.settings.port}"
        if self.xmlstream is None:
            text = f"no connection to {where} after {CONNECT_TIMEOUT:g} s (host down or filtered?)"
        else:  # the port answered but the XMPP login never completed: usually not an XMPP port
            text = (f"{where} accepted the connection but gave no XMPP session within {CONNECT_TIMEOUT:g} s; "
                    f"check that it is an XMPP server's port for TLS mode {self.settings.tls_mode!r}")
        self._end_attempt(Timeout(text))
        if self.xmlstream is not None and self.xmlstream.transport is not None:
            self.xmlstream.transport.abortConnection()

    # StreamManager hooks -------------------------------------------------------------------

    def _authd(self, xs: xmlstream.XmlStream) -> None:
        self.jid = self.authenticator.jid
        if self.settings.tls_mode != "none":  # TLS is up (STARTTLS or direct) once authenticated
            flush_tls_writes_soon(xs.transport, self._reactor)
            send_tls_records_now(xs.transport)
        self._flush_queue(xs)
        try:
            super()._authd(xs)
        except Exception:  # noqa: BLE001 - a broken handler must not leave us half connected
            log.exception("%s: a handler failed when the session opened", self.profile)
        self.backoff.reset()
        log.info("%s: connected as %s", self.profile, self.jid.full())
        self._end_attempt(None)
        self._on_state(self, True)

    def _flush_queue(self, xs: xmlstream.XmlStream) -> None:
        """Send what was queued while offline one stanza at a time (tx-xmpp's flush stops
        at the first that raises and keeps the queue, so one stanza our stream refuses
        would break every later login); a refused one is dropped (the stream logged it)."""
        queued, self._packetQueue = self._packetQueue, []
        for stanza in queued:
            try:
                xs.send(stanza)
            except UnsendableStanza:
                pass

    def initializationFailed(self, reason: Failure) -> None:
        self._end_attempt(self._describe_failure(reason))
        if self.xmlstream is not None and self.xmlstream.transport is not None:
            self.xmlstream.transport.loseConnection()

    def _on_stream_error(self, stream_error: Failure) -> None:
        if isinstance(stream_error.value, error.StreamError):
            self._stream_error = stream_error.value
        else:  # our parser refused what the server sent; the connection is dropped next
            self._parse_error = stream_error.value
            log.warning("%s: dropping the connection to %s: %s", self.profile, self.settings.host,
                        stream_error.getErrorMessage())

    def _disconnected(self, reason: Failure) -> None:
        was_connected = self._initialized
        super()._disconnected(reason)
        waiters, self._closed_waiters = self._closed_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        if self._attempt_result is not None:
            self._end_attempt(self._describe_failure(reason))
            return
        if was_connected:
            log.info("%s: disconnected (%s)", self.profile, _reason_text(reason))
            self._on_state(self, False)
            if self._wanted:
                self._schedule_reconnect()

    # reconnection -----------------------------------------------------------------------------

    def _schedule_reconnect(self) -> None:
        delay = self.backoff.next_delay()
        log.info("%s: reconnecting in %.1f s", self.profile, delay)
        self._reconnect_call = self._reactor.callLater(delay, self._reconnect)

    def _reconnect(self) -> None:
        self._reconnect_call = None
        if not self._wanted:
            return

        def failed(failure: Failure) -> None:
            if failure.check(AuthFailed):
                log.error("%s: the server refused our credentials; not reconnecting", self.profile)
                self._wanted = False
            elif self._wanted:
                self._schedule_reconnect()

        self._attempt().addErrback(failed)

    # errors -------------------------------------------------------------------------------------

    def _describe_failure(self, reason: Failure) -> BridgeError:
        """Typed, human error for a failed attempt (never mentions the password)."""
        if reason.check(sasl.SASLAuthError):
            return AuthFailed(f"{self.jid.userhost()}: the server refused the credentials "
                              f"({reason.value.condition or 'not-authorized'})")
        if reason.check(sasl.SASLError):
            return AuthFailed(f"{self.jid.userhost()}: authentication failed: {reason.getErrorMessage()}")
        if reason.check(xmlstream.TLSRequired):
            return Network(f"{self.settings.host} does not offer STARTTLS, and TLS is required")
        if reason.check(xmlstream.FeatureNotAdvertized):
            return Network(self._missing_feature_text())
        if self._parse_error is not None:
            return Network(f"{self.settings.host} sent XML we refuse: {self._parse_error}")
        if self._stream_error is not None:
            condition = self._stream_error.condition
            text = f": {self._stream_error.text}" if self._stream_error.text else ""
            return Network(f"{self.settings.host} closed the stream ({condition}{text})")
        if reason.check(ConnectionDone) and not reason.check(BridgeError):
            return Network(f"{self.settings.host} closed the connection during the login")
        tls_failure = describe_tls_failure(reason.value, self.settings.domain, self.settings.ca_file)
        if tls_failure is not None:
            return Network(tls_failure)
        message = _reason_text(reason) or type(reason.value).__name__
        return Network(f"connection to {self.settings.host} lost during the login: {message}")

    def _missing_feature_text(self) -> str:
        """Why the login stopped at the stream features: most often a server that requires
        encryption (it offers STARTTLS and nothing else) to a profile in TLS mode ``none``."""
        features = getattr(self.xmlstream, "features", None) or {}
        if (xmlstream.NS_XMPP_TLS, "starttls") in features and self.settings.tls_mode == "none":
            return (f"{self.settings.host} requires encryption, and this profile's TLS mode is 'none': "
                    "use TLS 'required' (`sat param set Connection TLS required`)")
        offered = sorted(name for _, name in features)[:MAX_FEATURES_SHOWN]
        return (f"{self.settings.host} does not offer what a login needs (authentication, then "
                f"resource binding); it offers: {', '.join(name[:64] for name in offered) or 'nothing'}")


def _reason_text(reason: Failure) -> str:
    value = reason.value
    if value is not None and getattr(value, "args", None):
        return " ".join(str(arg) for arg in value.args)
    return reason.getErrorMessage()
