"""Human sentences for failed TLS handshakes (``sat_backend.core.xmpp.tls``)."""

from __future__ import annotations

from pathlib import Path

from OpenSSL import SSL
from service_identity import VerificationError

from sat_backend.core.xmpp.tls import describe_tls_failure, openssl_reasons

VERIFY_FAILED = SSL.Error([("SSL routines", "", "certificate verify failed")])


def test_openssl_reasons_are_the_third_members_of_the_tuples() -> None:
    assert openssl_reasons(VERIFY_FAILED) == ["certificate verify failed"]
    assert openssl_reasons(ValueError("not TLS")) == []


def test_an_unknown_ca_names_the_ca_file_and_the_cure() -> None:
    text = describe_tls_failure(VERIFY_FAILED, "example.org", Path("/etc/ca.pem"))
    assert text is not None and text.startswith("certificate verify failed for example.org")
    assert "/etc/ca.pem" in text and "--ca-file" in text and "CAFile" in text
    system = describe_tls_failure(VERIFY_FAILED, "example.org", None)
    assert system is not None and "this system trusts" in system


def test_a_certificate_for_another_name_is_said_so() -> None:
    text = describe_tls_failure(VerificationError(errors=[]), "example.org", None)
    assert text is not None and "does not name example.org" in text


def test_other_failures_are_not_tls_ones() -> None:
    assert describe_tls_failure(ConnectionResetError(), "example.org", None) is None
    other = describe_tls_failure(SSL.Error([("SSL routines", "", "wrong version number")]), "example.org", None)
    assert other == "TLS with example.org failed: wrong version number"
