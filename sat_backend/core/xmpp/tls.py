"""TLS client options: the server certificate is always verified, against the system
trust store or the profile's own CA file (``Connection/CAFile``); and the flush of
Twisted's TLS write aggregator moved onto the asyncio loop's ``call_soon``."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any, Callable

from service_identity import VerificationError
from twisted.internet import ssl

from sat_backend.core.exceptions import InvalidArgument

log = logging.getLogger(__name__)

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL
)


def client_tls_options(domain: str, ca_file: Path | None) -> Any:
    """Options for a TLS connection to the server of ``domain`` (the certificate must
    name the domain, not the host we connect to, as RFC 6120 §13.7.2 says).

    :raises InvalidArgument: the CA file cannot be read or holds no certificate.
    """
    if ca_file is None:
        return ssl.optionsForClientTLS(domain)
    try:
        blocks = _PEM_CERTIFICATE.findall(ca_file.read_bytes())
        certificates = [ssl.Certificate.loadPEM(block) for block in blocks]
    except OSError as exc:
        raise InvalidArgument(f"cannot read the CA file {ca_file}: {exc.strerror}") from None
    except Exception as exc:  # noqa: BLE001 - OpenSSL's errors for a malformed PEM vary
        raise InvalidArgument(f"the CA file {ca_file} is not valid PEM: {exc}") from None
    if not certificates:
        raise InvalidArgument(f"the CA file {ca_file} holds no PEM certificate")
    return ssl.optionsForClientTLS(domain, trustRoot=ssl.trustRootFromCertificates(certificates))


#: what to do when the server's certificate is signed by a CA we do not trust
CA_FILE_HINT = (
    "if the server uses a CA of its own, give that CA's PEM file with `sat profile create … "
    "--ca-file PEM` or `sat param set Connection CAFile PEM`"
)


def openssl_reasons(value: object) -> list[str]:
    """The reason strings of an ``OpenSSL.SSL.Error`` (``[(lib, function, reason), …]``)."""
    reasons: list[str] = []
    for arg in getattr(value, "args", ()):
        if isinstance(arg, list):
            reasons += [str(entry[2]) for entry in arg if isinstance(entry, tuple) and len(entry) == 3]
    return reasons


def describe_tls_failure(value: object, domain: str, ca_file: Path | None) -> str | None:
    """A human sentence for a failed TLS handshake, or None when ``value`` is not one.

    OpenSSL only says "certificate verify failed"; the likely cause and its cure (the
    CA file) are what a user needs, not the raw error tuple.
    """
    if isinstance(value, VerificationError):
        return (f"the server's certificate does not name {domain}, the domain of the JID "
                "(RFC 6120 §13.7.2): it may be another server's")
    reasons = openssl_reasons(value)
    if not reasons:
        return None
    if any("certificate verify failed" in reason for reason in reasons):
        trusted = f"a CA of {ca_file}" if ca_file is not None else "an authority this system trusts"
        return f"certificate verify failed for {domain}: it is not signed by {trusted}; {CA_FILE_HINT}"
    return f"TLS with {domain} failed: {', '.join(reasons)}"


class _SoonCall:
    """What ``callLater(0, f)`` returns on :class:`SoonClock`: the ``IDelayedCall`` part
    that Twisted's TLS aggregator uses (``cancel``, ``active``), over a loop handle."""

    __slots__ = ("_function", "_args", "_handle", "_done")

    def __init__(self, loop: asyncio.AbstractEventLoop, function: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._function = function
        self._args = args
        self._done = False
        self._handle = loop.call_soon(self._run)

    def _run(self) -> None:
        self._done = True
        self._function(*self._args)

    def cancel(self) -> None:
        self._done = True
        self._handle.cancel()

    def active(self) -> bool:
        return not self._done


class SoonClock:
    """The clock given to Twisted's ``_AggregateSmallWrites``: its ``callLater(0, flush)``
    (one per burst of writes) becomes one ``loop.call_soon``. On the asyncio reactor every
    ``callLater`` makes a ``DelayedCall``, a loop ``TimerHandle`` pushed on the timer heap,
    and a reactor resort: about 1 % of the daemon's CPU per message under ``MessageSend``.
    Any other delay still goes to the reactor."""

    def __init__(self, loop: asyncio.AbstractEventLoop, reactor: Any) -> None:
        self._loop = loop
        self._reactor = reactor

    def callLater(self, delay: float, function: Callable[..., object], *args: Any) -> Any:  # noqa: N802 - IReactorTime
        if delay == 0:
            return _SoonCall(self._loop, function, args)
        return self._reactor.callLater(delay, function, *args)


def _tls_aggregator(transport: Any) -> Any:
    """The write aggregator of the TLS layer under ``transport``: the transport itself
    after direct TLS (``wrapClientTLS``), its ``protocol`` after STARTTLS; None if there
    is none (no TLS, or a Twisted without the aggregator)."""
    for candidate in (transport, getattr(transport, "protocol", None)):
        aggregator = getattr(candidate, "_aggregator", None)
        if aggregator is not None:
            return aggregator
    return None


def flush_tls_writes_soon(transport: Any, reactor: Any) -> bool:
    """Have the TLS layer under ``transport`` flush its aggregated writes with
    ``loop.call_soon`` instead of ``reactor.callLater(0, …)`` (see :class:`SoonClock`).

    Only on the asyncio reactor, and only when the aggregator looks like the one this
    was written against (Twisted ≥ 24.7's ``_AggregateSmallWrites`` with a ``_clock``);
    otherwise it is left as it is.

    :returns: whether the clock was replaced.
    """
    loop = getattr(reactor, "_asyncioEventloop", None)
    if loop is None:
        return False
    aggregator = _tls_aggregator(transport)
    if aggregator is None or not hasattr(aggregator, "_clock") or not hasattr(aggregator, "_scheduledFlush"):
        log.debug("no TLS write aggregator to hook on %r: its flushes stay on reactor.callLater", transport)
        return False
    if not isinstance(aggregator._clock, SoonClock):
        aggregator._clock = SoonClock(loop, reactor)
    return True
