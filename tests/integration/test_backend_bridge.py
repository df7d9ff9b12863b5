"""The core bridge members over a real private bus, against the real backend process."""

from __future__ import annotations

import json

import pytest

from sat_bridge import errors
from sat_backend import __version__
from tests.fixtures.backend import BackendProcess, SignalRecorder

PASSWORD = "correct horse battery staple 🐎"
OPTIONS = json.dumps({"host": "127.0.0.1", "port": 5299, "tls": "none", "autoconnect": True})


def test_version_and_ready(backend: BackendProcess) -> None:
    client = backend.client
    assert client.get_version() == __version__
    assert client.get_ready() is None
    assert client.profiles_list() == []


def test_profile_create_fills_connection_params(backend: BackendProcess) -> None:
    client = backend.client
    client.profile_create("alice", "Alice@Example.org", PASSWORD, OPTIONS)
    assert client.profiles_list() == ["alice"]
    assert client.param_get("Connection", "JabberID", "alice") == "alice@example.org"
    assert client.param_get("Connection", "Host", "alice") == "127.0.0.1"
    assert client.param_get("Connection", "Port", "alice") == "5299"
    assert client.param_get("Connection", "TLS", "alice") == "none"
    assert client.param_get("Connection", "Autoconnect", "alice") == "true"
    # "" is the default profile: the first one created
    assert client.param_get("Connection", "JabberID", "") == "alice@example.org"
    # unset params answer their default
    assert client.param_get("General", "Language", "alice") == ""


def test_password_is_never_readable(backend: BackendProcess, signals: SignalRecorder) -> None:
    client = backend.client
    client.profile_create("alice", "alice@example.org", PASSWORD, "{}")
    with pytest.raises(errors.PermissionDenied):
        client.param_get("Connection", "Password", "alice")
    client.param_set("Connection", "Password", "new secret", "alice")
    args = signals.wait_for("ParamUpdate", lambda name, *_: name == "Password")
    assert args == ("Password", "", "Connection", "alice")
    listed = json.loads(client.params_list("alice"))
    password = next(p for p in listed if p["name"] == "Password")
    assert password["value"] is None and password["is_set"] is True
    assert PASSWORD not in backend.log_text() and "new secret" not in backend.log_text()


def test_param_set_emits_update_and_persists_across_restart(
    backend: BackendProcess, signals: SignalRecorder
) -> None:
    client = backend.client
    client.profile_create("bob", "bob@example.org", "", "{}")
    client.param_set("General", "Language", "fr", "bob")
    assert signals.wait_for("ParamUpdate", lambda name, *_: name == "Language") == (
        "Language", "fr", "General", "bob",
    )
    client.param_set("Connection", "Autoconnect", "yes", "")
    assert client.param_get("Connection", "Autoconnect", "bob") == "true"
    client = backend.restart()
    assert client.profiles_list() == ["bob"]
    assert client.param_get("General", "Language", "bob") == "fr"
    assert client.param_get("Connection", "Autoconnect", "bob") == "true"


@pytest.mark.parametrize(
    "name",
    ["", " ", "a/b", "tab\there", "x" * 65, "bell\x07", " lead", "trail "],
)
def test_invalid_profile_names_are_refused(backend: BackendProcess, name: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        backend.client.profile_create(name, "alice@example.org", "pw", "{}")
    assert backend.client.profiles_list() == []


@pytest.mark.parametrize(
    "jid", ["", "example.org", "alice@", "alice@exa mple.org", "alice@example.org/res", "@example.org"]
)
def test_invalid_jids_are_refused(backend: BackendProcess, jid: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        backend.client.profile_create("alice", jid, "pw", "{}")
    assert backend.client.profiles_list() == []


@pytest.mark.parametrize(
    "options",
    [
        "not json",
        "[]",
        '{"port": 0}',
        '{"port": 65536}',
        '{"port": "http"}',
        '{"tls": "maybe"}',
        '{"autoconnect": "sure"}',
        '{"colour": "blue"}',
        '{"ca_file": "relative/ca.pem"}',
    ],
)
def test_invalid_options_are_refused_and_nothing_is_stored(
    backend: BackendProcess, options: str
) -> None:
    with pytest.raises(errors.InvalidArgument):
        backend.client.profile_create("alice", "alice@example.org", "pw", options)
    assert backend.client.profiles_list() == []


def test_conflict_unknown_and_delete(backend: BackendProcess) -> None:
    client = backend.client
    client.profile_create("alice", "alice@example.org", "pw", "{}")
    with pytest.raises(errors.Conflict):
        client.profile_create("alice", "other@example.org", "pw", "{}")
    assert client.param_get("Connection", "JabberID", "alice") == "alice@example.org"
    with pytest.raises(errors.ProfileUnknown):
        client.param_get("Connection", "JabberID", "nobody")
    with pytest.raises(errors.ProfileUnknown):
        client.profile_delete("nobody")
    client.profile_create("bob", "bob@example.org", "pw", "{}")
    client.profile_delete("alice")
    assert client.profiles_list() == ["bob"]
    # the default moves to the remaining profile
    assert client.param_get("Connection", "JabberID", "") == "bob@example.org"
    client.profile_delete("bob")
    with pytest.raises(errors.ProfileUnknown):
        client.param_get("Connection", "JabberID", "")


def test_unknown_params_and_bad_values(backend: BackendProcess) -> None:
    client = backend.client
    client.profile_create("alice", "alice@example.org", "pw", "{}")
    with pytest.raises(errors.InvalidArgument):
        client.param_get("Connection", "Nope", "alice")
    with pytest.raises(errors.InvalidArgument):
        client.param_set("Nope", "Nope", "1", "alice")
    for bad in ("0", "70000", "five"):
        with pytest.raises(errors.InvalidArgument):
            client.param_set("Connection", "Port", bad, "alice")
    with pytest.raises(errors.InvalidArgument):
        client.param_set("Connection", "JabberID", "not a jid", "alice")
    assert client.param_get("Connection", "Port", "alice") == "5222"
    # the daemon keeps serving after all those errors
    assert client.get_version() == __version__
