"""XMPP sessions against a real Prosody and ejabberd: TLS modes, authentication, state signals."""

from __future__ import annotations

import pytest

from sat_bridge import errors
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.prosody import ProsodyServer, make_certificate_authority
from tests.integration.xmpp_helpers import create_xmpp_profile

#: tests on ``xmpp_server`` run on Prosody and on ejabberd; those that restart or administer
#: a server (prosodyctl) stay on Prosody
pytestmark = pytest.mark.ejabberd


@pytest.fixture
def session_signals(backend: BackendProcess) -> SignalRecorder:
    assert backend.client is not None
    return SignalRecorder(backend.client, "Connected", "Disconnected", "MessageNew")


@pytest.mark.parametrize("tls", ["required", "starttls-optional", "direct"])
def test_connect_and_disconnect(backend: BackendProcess, xmpp_server: XmppServer,
                                session_signals: SignalRecorder, tls: str) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, xmpp_server, "alice", tls=tls)
    assert client.is_connected("alice") is False
    assert client.connect("alice") is True
    jid, profile = session_signals.wait_for("Connected")
    assert profile == "alice" and jid.startswith("alice@localhost/")
    assert client.is_connected("alice") is True
    assert client.connect("alice") is False  # already connected
    client.disconnect("alice")
    assert session_signals.wait_for("Disconnected") == ("alice",)
    assert client.is_connected("alice") is False
    client.disconnect("alice")  # no error when already disconnected


def test_wrong_password_is_auth_failed(backend: BackendProcess, xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, xmpp_server, "alice", password="not-the-password")
    with pytest.raises(errors.AuthFailed, match="refused the credentials"):
        client.connect("alice")
    assert client.is_connected("alice") is False
    assert "not-the-password" not in backend.log_text()


def test_unknown_certificate_authority_is_refused(backend: BackendProcess, xmpp_server: XmppServer,
                                                   tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = backend.client
    assert client is not None
    other_ca = make_certificate_authority(tmp_path / "other-ca", "Not the server's CA")
    for tls in ("required", "direct"):
        create_xmpp_profile(client, xmpp_server, "alice", profile=f"alice-{tls}", tls=tls,
                            ca_file=str(other_ca.cert_file))
        with pytest.raises(errors.Network, match="(?i)tls|certificate"):
            client.connect(f"alice-{tls}")
        assert client.is_connected(f"alice-{tls}") is False


def test_connection_errors_are_typed(backend: BackendProcess, xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, xmpp_server, "alice", profile="nobody-listens", port=1)
    with pytest.raises(errors.Network, match="cannot reach"):
        client.connect("nobody-listens")
    create_xmpp_profile(client, xmpp_server, "alice", profile="plain-remote", tls="none", host="example.org")
    with pytest.raises(errors.InvalidArgument, match="loopback"):
        client.connect("plain-remote")
    with pytest.raises(errors.ProfileUnknown):
        client.connect("ghost")
    client.profile_create("nopass", "alice@localhost", "", "{}")
    with pytest.raises(errors.InvalidArgument, match="no password"):
        client.connect("nopass")


def test_autoconnect_at_start(backend: BackendProcess, xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, xmpp_server, "alice", autoconnect=True)
    create_xmpp_profile(client, xmpp_server, "bob")
    client = backend.restart()
    signals = SignalRecorder(client, "Connected")
    if not client.is_connected("alice"):
        signals.wait_for("Connected", lambda jid, profile: profile == "alice")
    assert client.is_connected("alice") is True
    assert client.is_connected("bob") is False


def test_a_backend_stopped_with_a_session_open_stops_cleanly(backend: BackendProcess, xmpp_server: XmppServer,
                                                             session_signals: SignalRecorder) -> None:
    """The reactor came with the session (installed on the running loop at its first
    use): SIGTERM stops the backend (the session is closed), then the reactor, whose
    shutdown stops the loop; exit 0, nothing left hanging, no traceback."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, xmpp_server, "alice")
    assert client.connect("alice") is True
    session_signals.wait_for("Connected")
    assert backend.stop() == 0
    log = backend.log_text()
    assert "stopping" in log and "Traceback" not in log


def test_prosody_restart_reconnects_by_itself(backend: BackendProcess, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.prosody import prosody_server

    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, "Connected", "Disconnected")
    server_fixture = prosody_server(tmp_path_factory.mktemp("prosody-restart"), {"alice": "alice-secret"})
    own_server = next(server_fixture)
    try:
        create_xmpp_profile(client, own_server, "alice")
        client.connect("alice")
        signals.wait_for("Connected")
        own_server.restart()
        signals.wait_for("Disconnected")
        signals.wait_for("Connected", timeout=30)
        assert client.is_connected("alice") is True
    finally:
        client.disconnect("alice")
        server_fixture.close()


def test_deleting_a_connected_profile_disconnects_it(backend: BackendProcess, xmpp_server: XmppServer,
                                                     session_signals: SignalRecorder) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, xmpp_server, "alice")
    client.connect("alice")
    session_signals.wait_for("Connected")
    client.profile_delete("alice")
    assert session_signals.wait_for("Disconnected") == ("alice",)
    assert client.profiles_list() == []
    with pytest.raises(errors.ProfileUnknown):
        client.is_connected("alice")


def test_refused_password_on_reconnection_stops_retrying(backend: BackendProcess, fresh_prosody: ProsodyServer,
                                                          session_signals: SignalRecorder) -> None:
    import subprocess
    import time

    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_prosody, "alice")
    client.connect("alice")
    session_signals.wait_for("Connected")
    # the password changes on the server (another device did it) while we are connected
    subprocess.run(["prosodyctl", "--config", str(fresh_prosody.config_file), "deluser", "alice@localhost"],
                   check=True, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    fresh_prosody.register("alice", "a new password")
    fresh_prosody.restart()
    session_signals.wait_for("Disconnected")
    deadline = time.monotonic() + 30
    while "not reconnecting" not in backend.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "the server refused our credentials; not reconnecting" in backend.log_text()
    # a retry loop would try again within the next backoff delay (at most 4 s here)
    time.sleep(5)
    after_refusal = backend.log_text().split("not reconnecting", 1)[1]
    assert "connecting to" not in after_refusal
    assert client.is_connected("alice") is False
