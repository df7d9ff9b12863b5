"""``sat connect`` failures a user meets, each with its own exit code and a sentence
that says what to do: a wrong CA, a server that requires TLS, a server that never answers.

Against the test Prosody (which requires encryption) and a loopback listener that accepts
connections and never says a word.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer, make_certificate_authority
from tests.integration.test_cli import sat
from tests.integration.xmpp_helpers import create_xmpp_profile


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@pytest.mark.parametrize("tls", ["required", "direct"])
def test_wrong_ca_says_verify_failed_and_names_the_ca_file(backend: BackendProcess, prosody: ProsodyServer,
                                                            tmp_path: Path, tls: str) -> None:
    assert backend.client is not None
    other_ca = make_certificate_authority(tmp_path / "other-ca", "Not the server's CA")
    create_xmpp_profile(backend.client, prosody, "alice", tls=tls, ca_file=str(other_ca.cert_file))
    result = sat(backend, "connect", "-p", "alice")
    assert result.returncode == 17, result.stderr
    assert result.stderr.startswith("sat: Network: certificate verify failed for localhost"), result.stderr
    assert str(other_ca.cert_file) in result.stderr and "--ca-file" in result.stderr
    assert "SSL routines" not in result.stderr  # no raw OpenSSL tuple


def test_tls_none_to_a_server_requiring_encryption_says_so(backend: BackendProcess,
                                                           prosody: ProsodyServer) -> None:
    assert backend.client is not None
    create_xmpp_profile(backend.client, prosody, "alice", tls="none")
    result = sat(backend, "connect", "-p", "alice")
    assert result.returncode == 17, result.stderr
    assert "requires encryption" in result.stderr and "TLS required" in result.stderr, result.stderr
    assert not result.stderr.rstrip().endswith(":")


def test_a_server_that_never_answers_is_not_a_missing_backend(backend: BackendProcess, prosody: ProsodyServer,
                                                              silent_server: int) -> None:
    assert backend.client is not None
    create_xmpp_profile(backend.client, prosody, "alice", port=silent_server)
    result = sat(backend, "--timeout", "2", "connect", "-p", "alice")
    assert result.returncode == 4, result.stderr
    assert result.stderr.startswith("sat: NoAnswer: no answer from the backend within 2 s"), result.stderr
    assert "not available" not in result.stderr
    as_json = sat(backend, "-O", "json", "--timeout", "2", "connect", "-p", "alice")
    assert as_json.returncode == 4 and '"error": "NoAnswer"' in as_json.stderr


def test_a_server_that_never_answers_is_a_timeout_of_the_backend(backend: BackendProcess, prosody: ProsodyServer,
                                                                 silent_server: int) -> None:
    """With the default --timeout the backend's own limit (30 s) comes first: exit 18."""
    assert backend.client is not None
    create_xmpp_profile(backend.client, prosody, "alice", port=silent_server)
    result = sat(backend, "connect", "-p", "alice")
    assert result.returncode == 18, result.stderr
    assert result.stderr.startswith(f"sat: Timeout: 127.0.0.1:{silent_server} accepted the connection but "
                                    "gave no XMPP session"), result.stderr
