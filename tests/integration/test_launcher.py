"""sat-backend as a user runs it: daemon commands, D-Bus activation, start-up failures."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sat_bridge.client import BridgeClient
from sat_backend import __version__
from sat_backend.core import pidfile
from tests.fixtures.backend import BackendProcess, BackendStartError
from tests.fixtures.dbus import PrivateBus, reload_bus_config

ROOT = Path(__file__).resolve().parents[2]
SERVICE_FILE = ROOT / "data" / "dbus-1" / "services" / "org.salutatoi.SAT1.service"


def sat_backend(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sat_backend", *args],
        env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def test_start_status_stop(backend_env: dict[str, str]) -> None:
    assert sat_backend(backend_env, "status").returncode == 3
    started = sat_backend(backend_env, "start")
    assert started.returncode == 0, started.stderr
    assert "started" in started.stdout
    try:
        status = sat_backend(backend_env, "status")
        assert status.returncode == 0 and "running" in status.stdout
        # a second start does not start a second daemon
        again = sat_backend(backend_env, "start")
        assert again.returncode == 0 and "already running" in again.stdout
        with BridgeClient(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as client:
            assert client.get_version() == __version__
        log_file = Path(backend_env["XDG_STATE_HOME"]) / "sat" / "sat-backend.log"
        assert "ready" in log_file.read_text()
    finally:
        stopped = sat_backend(backend_env, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert sat_backend(backend_env, "status").returncode == 3
    assert not (Path(backend_env["XDG_RUNTIME_DIR"]) / "sat" / "sat-backend.pid").exists()


def test_dbus_activation_starts_the_backend(session_bus: PrivateBus) -> None:
    """A call on a bus whose service dir has our .service file starts `sat-backend fg`."""
    target = session_bus.services_dir / SERVICE_FILE.name
    shutil.copy(SERVICE_FILE, target)
    reload_bus_config(session_bus.address)
    pid_path = Path(session_bus.env["XDG_RUNTIME_DIR"]) / "sat" / "sat-backend.pid"
    try:
        with BridgeClient(session_bus.address) as client:
            assert client.get_version() == __version__
            client.profile_create("activated", "act@example.org", "", "{}")
            assert client.profiles_list() == ["activated"]
        pid = pidfile.read(pid_path)
        assert pid is not None and pidfile.is_alive(pid)
    finally:
        target.unlink()
        reload_bus_config(session_bus.address)
        pid = pidfile.read(pid_path)
        if pid is not None and pidfile.is_alive(pid):
            os.kill(pid, signal.SIGTERM)
            _wait_dead(pid)
    # the activated backend used the bus's environment: its data dir got the database
    assert (Path(session_bus.env["XDG_DATA_HOME"]) / "sat" / "sat.db").exists()


def _wait_dead(pid: int) -> None:
    """Block until ``pid`` exits, with a bounded wait (pidfd: event, not polling)."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([fd], [], [], 30)
    finally:
        os.close(fd)


def test_second_backend_on_same_bus_refuses_to_start(backend: BackendProcess, backend_env: dict[str, str], tmp_path: Path) -> None:
    other_env = dict(backend_env, XDG_RUNTIME_DIR=str(tmp_path / "other-runtime"))
    result = sat_backend(other_env, "fg")
    assert result.returncode == 5
    assert "already owns org.salutatoi.SAT1" in result.stderr
    # the first one is unaffected
    assert backend.client.get_version() == __version__


def test_corrupt_database_is_a_clear_error_and_is_left_untouched(backend_env: dict[str, str]) -> None:
    db = Path(backend_env["XDG_DATA_HOME"]) / "sat" / "sat.db"
    db.parent.mkdir(parents=True)
    garbage = os.urandom(4096)
    db.write_bytes(garbage)
    result = sat_backend(backend_env, "fg")
    assert result.returncode == 4, result.stderr
    assert "database" in result.stderr.lower() and str(db) in result.stderr
    assert "Traceback" not in result.stderr
    assert db.read_bytes() == garbage


def test_foreign_database_is_refused_and_kept(backend_env: dict[str, str]) -> None:
    import sqlite3

    db = Path(backend_env["XDG_DATA_HOME"]) / "sat" / "sat.db"
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE recipes (name TEXT)")
        connection.execute("INSERT INTO recipes VALUES ('tarte tatin')")
    before = db.read_bytes()
    result = sat_backend(backend_env, "fg")
    assert result.returncode == 4, result.stderr
    assert str(db) in result.stderr
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"[log\nlevel = debug\n", "not valid INI"),
        (b"\xff\xfe\x00garbage", "cannot read config file"),
    ],
)
def test_unusable_config_file_is_a_clear_start_error(
    backend_env: dict[str, str], tmp_path: Path, content: bytes, expected: str
) -> None:
    config = tmp_path / "sat.conf"
    config.write_bytes(content)
    result = sat_backend(backend_env, "--config", str(config), "fg")
    assert result.returncode == 78
    assert expected in result.stderr and str(config) in result.stderr
    missing = sat_backend(backend_env, "--config", str(tmp_path / "absent.conf"), "fg")
    assert missing.returncode == 78 and "does not exist" in missing.stderr


def test_bad_config_value_is_logged_and_defaulted(backend_env: dict[str, str], tmp_path: Path) -> None:
    config = Path(backend_env["XDG_CONFIG_HOME"]) / "sat" / "sat.conf"
    config.parent.mkdir(parents=True)
    config.write_text("[log]\nlevel = loud\n")
    process = BackendProcess(backend_env, tmp_path / "log.txt")
    process.start()
    try:
        assert process.client.get_version() == __version__
    finally:
        process.stop()
    assert "level 'loud' is not one of" in process.log_text()


def test_plugin_from_config_dir_adds_a_member_over_the_bus(backend_env: dict[str, str], tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "plugin_test_echo.py").write_text(
        '"""A third-party plugin declaring its own bridge member."""\n'
        "from sat_bridge.spec import Arg, Method\n"
        "from sat_backend.core.exceptions import InvalidArgument\n"
        'PLUGIN_INFO = {"name": "Echo", "import_name": "TEST-ECHO", "main": "Echo"}\n'
        "class Echo:\n"
        "    def __init__(self, host):\n"
        "        self.host = host\n"
        "        host.bridge.add_method(Method('TestEcho', 'plugin',\n"
        "            (Arg('text', 's'), Arg('profile', 's')), 's', 'echo'), self.echo)\n"
        "    async def echo(self, text, profile):\n"
        "        if not text:\n"
        "            raise InvalidArgument('nothing to echo')\n"
        "        return (await self.host.profiles.resolve(profile)) + ':' + text\n"
    )
    (plugins / "plugin_broken.py").write_text("raise RuntimeError('I am broken')\n")
    config = Path(backend_env["XDG_CONFIG_HOME"]) / "sat" / "sat.conf"
    config.parent.mkdir(parents=True)
    config.write_text(f"[plugins]\ndirs = {plugins}\n")
    process = BackendProcess(backend_env, tmp_path / "log.txt")
    client = process.start()
    try:
        client.profile_create("alice", "alice@example.org", "", "{}")
        assert client.call("TestEcho", "hello", "") == "alice:hello"
        from sat_bridge import errors

        with pytest.raises(errors.InvalidArgument, match="nothing to echo"):
            client.call("TestEcho", "", "")
    finally:
        process.stop()
    assert "plugin_broken" in process.log_text()


def test_start_failure_is_reported_by_the_fixture(backend_env: dict[str, str], tmp_path: Path) -> None:
    """The fixture itself fails loudly (no hang) when the backend cannot start."""
    db = Path(backend_env["XDG_DATA_HOME"]) / "sat" / "sat.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackendStartError, match="exit code 4"):
        BackendProcess(backend_env, tmp_path / "log.txt").start()
