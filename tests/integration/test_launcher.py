"""sat-backend as a user runs it: daemon commands, D-Bus activation, start-up failures."""

from __future__ import annotations

import os
import shutil
import signal
import stat
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


def sat_backend(env: dict[str, str], *args: str, timeout: float = 90, umask: int = -1) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sat_backend", *args],
        env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, umask=umask,
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


@pytest.mark.parametrize(
    "section, key, value, expected",
    [
        ("log", "level", "loud", "expected one of debug, info"),
        ("log", "file", "relative.log", "expected an absolute path"),
        ("storage", "data_dir", "data", "expected an absolute path"),
        ("pubsub", "cache", "sometimes", "expected true or false"),
        ("xmpp", "request_timeout", "soon", "expected a number of seconds"),
    ],
)
def test_bad_config_value_stops_the_start_with_exit_78(
    backend_env: dict[str, str], tmp_path: Path, section: str, key: str, value: str, expected: str
) -> None:
    """As the user guide says: exit 78 and one line naming the file, section, key and
    what is expected; nothing started (the option given after the form's name)."""
    config = tmp_path / "sat.conf"
    config.write_text(f"[{section}]\n{key} = {value}\n")
    result = sat_backend(backend_env, "start", "--config", str(config))
    assert result.returncode == 78, result
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(config) in result.stderr and f"[{section}] {key} = {value!r}" in result.stderr
    assert expected in result.stderr
    assert sat_backend(backend_env, "status").returncode == 3


def test_every_form_takes_config_after_its_name(backend_env: dict[str, str], tmp_path: Path) -> None:
    """``start``/``status``/``stop`` accept ``--config`` after their name and use it; the
    log's missing directories are created, 0700."""
    log_file = tmp_path / "elsewhere" / "deeper" / "backend.log"
    config = tmp_path / "sat.conf"
    config.write_text(f"[log]\nfile = {log_file}\n")
    started = sat_backend(backend_env, "start", "--config", str(config), "--log-level", "debug")
    assert started.returncode == 0, started.stderr
    try:
        assert str(log_file) in started.stdout and "ready" in log_file.read_text()
        assert modes(log_file, log_file.parent, log_file.parent.parent) == [0o600, 0o700, 0o700]
        status = sat_backend(backend_env, "status", "--config", str(config))
        assert status.returncode == 0 and "running" in status.stdout
    finally:
        stopped = sat_backend(backend_env, "stop", "--config", str(config))
    assert stopped.returncode == 0, stopped.stderr
    # before the form's name it still works, and a value given there is not lost
    assert sat_backend(backend_env, "--config", str(config), "status").returncode == 3
    missing = sat_backend(backend_env, "--config", str(tmp_path / "absent.conf"), "start")
    assert missing.returncode == 78 and "does not exist" in missing.stderr


def test_a_bad_config_never_keeps_the_daemon_from_stopping(backend_env: dict[str, str], tmp_path: Path) -> None:
    """``stop``/``status`` use no config value: a file broken while the daemon runs is a
    warning for them, not exit 78."""
    config = tmp_path / "sat.conf"
    config.write_text("[xmpp]\nrequest_timeout = 5\n")
    started = sat_backend(backend_env, "start", "--config", str(config))
    assert started.returncode == 0, started.stderr
    config.write_text("[xmpp]\nrequest_timeout = soon\n")
    try:
        status = sat_backend(backend_env, "status", "--config", str(config))
        assert status.returncode == 0 and "sat-backend: warning: config file" in status.stderr
    finally:
        stopped = sat_backend(backend_env, "stop", "--config", str(config))
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr


def test_data_dir_that_cannot_be_created_is_a_database_error(backend_env: dict[str, str], tmp_path: Path) -> None:
    """Exit 4 and one line naming the directory, not a traceback and exit 5 (an OSError
    taken for a bus error)."""
    (tmp_path / "plain").write_text("a file\n")
    config = tmp_path / "sat.conf"
    config.write_text(f"[storage]\ndata_dir = {tmp_path / 'plain' / 'sat'}\n")
    result = sat_backend(backend_env, "fg", "--config", str(config))
    assert result.returncode == 4, result
    assert f"cannot prepare the data directory {tmp_path / 'plain' / 'sat'}: " in result.stderr
    assert "Traceback" not in result.stderr


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


def modes(*paths: Path) -> list[int]:
    return [stat.S_IMODE(path.stat().st_mode) for path in paths]


def test_files_the_daemon_creates_are_private_whatever_the_umask(backend_env: dict[str, str]) -> None:
    """Started with umask 000: log, database, WAL, SHM, secret key and PID file are 0600,
    the directories made for them 0700; files an earlier release left 0644 become 0600."""
    data = Path(backend_env["XDG_DATA_HOME"]) / "sat"
    files = [data / "sat.db", data / "sat.db-wal", data / "sat.db-shm", data / "secret.key",
             Path(backend_env["XDG_STATE_HOME"]) / "sat" / "sat-backend.log",
             Path(backend_env["XDG_RUNTIME_DIR"]) / "sat" / "sat-backend.pid"]
    directories = sorted({path.parent for path in files})
    for attempt in range(2):
        started = sat_backend(backend_env, "start", umask=0)
        assert started.returncode == 0, started.stderr
        try:
            with BridgeClient(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as client:
                # a write while running: the WAL and SHM exist (a clean stop removes them)
                client.profile_create(f"private{attempt}", "alice@example.org", "", "{}")
                assert modes(*files) == [0o600] * len(files)
                assert modes(*directories) == [0o700] * len(directories)
        finally:
            stopped = sat_backend(backend_env, "stop")
        assert stopped.returncode == 0, stopped.stderr
        for path in files:
            if path.exists() and path.name != "secret.key":  # a shared key is refused, by design
                path.chmod(0o644)  # as an earlier release left them


@pytest.mark.parametrize("problem", ["a directory", "parent is a file", "not writable"])
@pytest.mark.parametrize("form", ["start", "fg"])
def test_log_path_errors_are_one_line_and_exit_73(
    backend_env: dict[str, str], tmp_path: Path, form: str, problem: str
) -> None:
    """A log file that cannot be written stops ``start`` ([log] file) and ``fg --log-file``
    with exit 73 (EX_CANTCREAT) and one line naming it; no traceback, nothing started."""
    if problem == "a directory":
        log_file = tmp_path / "logs"
        log_file.mkdir()
    elif problem == "parent is a file":
        (tmp_path / "plain").write_text("a file\n")
        log_file = tmp_path / "plain" / "backend.log"
    else:
        log_file = Path("/proc/version")  # even root cannot append to it
    config = tmp_path / "sat.conf"
    config.write_text(f"[log]\nfile = {log_file}\n")
    args = ["--config", str(config), "start"] if form == "start" else ["fg", "--log-file", str(log_file)]
    result = sat_backend(backend_env, *args)
    assert result.returncode == 73, result
    assert result.stderr.startswith(f"sat-backend: cannot write the log file {log_file}: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert sat_backend(backend_env, "status").returncode == 3
