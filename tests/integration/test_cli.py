"""The ``sat`` command, run as a user would: a subprocess talking to a real backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.backend import BackendProcess

SAT = str(Path(sys.executable).parent / "sat")
PASSWORD = "correct horse battery staple"


def sat(backend: BackendProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SAT, *args], env=backend.env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def create(backend: BackendProcess, name: str, jid: str, *options: str) -> None:
    result = sat(backend, "profile", "create", name, jid, "--password-stdin", *options, stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr


def test_version_is_the_backend_one(backend: BackendProcess) -> None:
    assert backend.client is not None
    result = sat(backend, "--output", "json", "version")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backend"] == backend.client.get_version()


def test_profile_create_list_delete(backend: BackendProcess) -> None:
    create(backend, "alice", "alice@example.org", "--host", "127.0.0.1", "--port", "5223", "--tls", "direct")
    create(backend, "bob", "bob@example.org")
    result = sat(backend, "-O", "json", "profile", "list")
    assert json.loads(result.stdout) == ["alice", "bob"]
    assert sat(backend, "param", "get", "Connection", "Port", "-p", "alice").stdout == "5223\n"
    assert sat(backend, "param", "get", "Connection", "TLS", "-p", "alice").stdout == "direct\n"

    refused = sat(backend, "profile", "delete", "bob")
    assert refused.returncode == 10 and "--yes" in refused.stderr
    assert sat(backend, "profile", "delete", "bob", "--yes").returncode == 0
    assert sat(backend, "profile", "list").stdout == "alice\n"


def test_params_set_get_list(backend: BackendProcess) -> None:
    create(backend, "alice", "alice@example.org")
    assert sat(backend, "param", "set", "General", "Language", "fr", "-p", "alice").returncode == 0
    assert sat(backend, "param", "get", "General", "Language", "-p", "alice").stdout == "fr\n"
    listed = json.loads(sat(backend, "-O", "json", "param", "list", "-p", "alice").stdout)
    by_name = {(p["category"], p["name"]): p for p in listed}
    assert by_name[("General", "Language")]["value"] == "fr"
    assert by_name[("Connection", "Password")]["value"] is None
    text = sat(backend, "param", "list", "-p", "alice").stdout
    assert text.splitlines()[0].split()[:2] == ["CATEGORY", "NAME"]
    assert PASSWORD not in text


def test_password_change_through_stdin_is_never_echoed(backend: BackendProcess) -> None:
    create(backend, "alice", "alice@example.org")
    result = sat(backend, "param", "set", "Connection", "Password", "--value-stdin", "-p", "alice",
                 stdin="new secret\n")
    assert result.returncode == 0, result.stderr
    assert "new secret" not in result.stdout + result.stderr
    assert "new secret" not in backend.log_text()


def test_errors_have_typed_exit_codes_and_messages(backend: BackendProcess) -> None:
    create(backend, "alice", "alice@example.org")
    cases = [
        (("param", "get", "Connection", "Password", "-p", "alice"), 14, "PermissionDenied"),
        (("param", "set", "Connection", "Port", "99999", "-p", "alice"), 10, "InvalidArgument"),
        (("param", "get", "General", "Language", "-p", "nobody"), 12, "ProfileUnknown"),
        (("param", "get", "General", "NoSuchParam", "-p", "alice"), 10, "InvalidArgument"),
        (("profile", "create", "alice", "a@b.c", "--password-stdin"), 13, "Conflict"),
        (("debug", "bridge", "NoSuchMethod"), 10, "InvalidArgument"),
        (("debug", "bridge", "ParamGet", "too", "few"), 10, "InvalidArgument"),
    ]
    for args, code, kind in cases:
        result = sat(backend, *args, stdin="pw\n")
        assert (result.returncode, result.stdout) == (code, ""), (args, result.stderr)
        assert result.stderr.startswith(f"sat: {kind}: "), result.stderr
    as_json = sat(backend, "-O", "json", "param", "get", "General", "Language", "-p", "nobody")
    assert json.loads(as_json.stderr)["error"] == "ProfileUnknown"


def test_empty_password_on_stdin_is_refused(backend: BackendProcess) -> None:
    result = sat(backend, "profile", "create", "alice", "a@b.c", "--password-stdin", stdin="")
    assert result.returncode == 10
    assert "empty" in result.stderr
    assert sat(backend, "profile", "list").stdout == ""


def test_debug_bridge_converts_arguments(backend: BackendProcess) -> None:
    create(backend, "alice", "alice@example.org", "--port", "5299")
    result = sat(backend, "debug", "bridge", "ParamGet", "Connection", "Port", "alice")
    assert result.stdout == "5299\n"
    listed = sat(backend, "debug", "bridge", "ProfilesList")
    assert json.loads(listed.stdout) == ["alice"]


def test_no_bus_means_exit_code_3(tmp_path: Path, backend_env: dict[str, str]) -> None:
    env = dict(backend_env, DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus")
    result = subprocess.run([SAT, "version"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 3
    assert "session bus" in result.stderr
