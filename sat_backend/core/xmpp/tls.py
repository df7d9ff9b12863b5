"""TLS client options: the server certificate is always verified, against the system
trust store or the profile's own CA file (``Connection/CAFile``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from service_identity import VerificationError
from twisted.internet import ssl

from sat_backend.core.exceptions import InvalidArgument

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
