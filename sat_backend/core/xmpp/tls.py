"""TLS client options: the server certificate is always verified, against the system
trust store or the profile's own CA file (``Connection/CAFile``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
