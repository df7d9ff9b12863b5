"""SCRAM client against the test vectors of RFC 5802 (SHA-1) and RFC 7677 (SHA-256)."""

from __future__ import annotations

import pytest

from sat_backend.core.xmpp.sasl import ScramError, ScramMechanism

VECTORS = [
    (
        "SCRAM-SHA-1",
        "fyko+d2lbbFgONRv9qkxdawL",
        b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
    ),
    (
        "SCRAM-SHA-256",
        "rOprNGfwEbeRWgbNEkqO",
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    ),
]


@pytest.mark.parametrize(("name", "nonce", "server_first", "client_final", "server_final"), VECTORS)
def test_rfc_vectors(name: str, nonce: str, server_first: bytes, client_final: bytes,
                     server_final: bytes) -> None:
    mechanism = ScramMechanism(name, "user", "pencil", client_nonce=nonce)
    assert mechanism.getInitialResponse() == f"n,,n=user,r={nonce}".encode()
    assert mechanism.getResponse(server_first) == client_final
    mechanism.verify_server_final(server_final)
    assert mechanism.server_verified


@pytest.mark.parametrize(("name", "nonce", "server_first", "client_final", "server_final"), VECTORS)
def test_wrong_server_signature_is_refused(name: str, nonce: str, server_first: bytes,
                                           client_final: bytes, server_final: bytes) -> None:
    mechanism = ScramMechanism(name, "user", "not the password", client_nonce=nonce)
    mechanism.getResponse(server_first)
    with pytest.raises(ScramError, match="impostor"):
        mechanism.verify_server_final(server_final)


@pytest.mark.parametrize("server_first", [
    b"r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096",  # nonce not ours
    b"r=abc,s=QSXCR+Q6sek8bf92,i=4096",  # nonce not extended
    b"r=abcdef,i=4096",  # no salt
    b"r=abcdef,s=QSXCR+Q6sek8bf92,i=0",
    b"m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
    b"\xff\xfe",
    b"garbage",
])
def test_malformed_server_first_is_refused(server_first: bytes) -> None:
    with pytest.raises(ScramError):
        ScramMechanism("SCRAM-SHA-1", "user", "pencil", client_nonce="abc").getResponse(server_first)


def test_user_name_is_escaped() -> None:
    initial = ScramMechanism("SCRAM-SHA-1", "a=b,c", "pw", client_nonce="n").getInitialResponse()
    assert initial == b"n,,n=a=3Db=2Cc,r=n"


def test_server_error_is_reported() -> None:
    mechanism = ScramMechanism("SCRAM-SHA-1", "user", "pencil", client_nonce=VECTORS[0][1])
    mechanism.getResponse(VECTORS[0][2])
    with pytest.raises(ScramError, match="invalid-proof"):
        mechanism.verify_server_final(b"e=invalid-proof")
