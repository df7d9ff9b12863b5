"""A server that opens its stream with a DTD (the "billion laughs"): XMPP forbids DTDs
(RFC 6120 §11.1), and expanding these entities would keep the daemon's only thread busy
for minutes. The login fails at once with a clear ``Network`` error; the backend goes on."""

from __future__ import annotations

import json
import socket
import threading
from typing import Iterator

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess

ENTITIES = "".join(f"<!ENTITY l{level} '{f'&l{level - 1};' * 10}'>" for level in range(1, 10))
BILLION_LAUGHS = (
    "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY l0 'lol'>" + ENTITIES + "]>"
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "from='localhost' id='laughs' version='1.0'><stream:features>&l9;</stream:features>"
).encode()


@pytest.fixture
def laughing_server() -> Iterator[int]:
    """A TCP listener on 127.0.0.1 answering one connection with the payload (a failed
    first login is not retried), stopped with the test."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(30)

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(10)
            try:
                connection.recv(4096)  # the client's stream header
                connection.sendall(BILLION_LAUGHS)
                connection.recv(4096)  # until the client hangs up
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()
    thread.join(10)


def test_a_dtd_from_the_server_is_refused_without_expansion(backend: BackendProcess, laughing_server: int) -> None:
    client: BridgeClient | None = backend.client
    assert client is not None
    client.profile_create("laughs", "me@localhost", "pw", json.dumps(
        {"host": "127.0.0.1", "port": laughing_server, "tls": "none"}))
    with pytest.raises(errors.Network, match="DOCTYPE"):
        client.connect("laughs", timeout=60)
    assert client.get_version() and client.is_connected("laughs") is False
    assert "DOCTYPE" in backend.log_text()
