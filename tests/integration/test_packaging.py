"""`pip install .` gives a working backend: the wheel carries migrations, the D-Bus
activation file, the interface XML and both commands, and the installed copy (not the
source tree) starts and serves the bridge."""

from __future__ import annotations

import configparser
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sat_bridge.client import BridgeClient
from tests.fixtures.backend import _read_ready
from tests.integration.wheel_helpers import build_wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    for expected in (
        "sat_backend/memory/migration/alembic.ini",
        "sat_backend/memory/migration/env.py",
        "sat_backend/memory/migration/script.py.mako",
        "sat_bridge/py.typed",
        f"{data}/data/share/dbus-1/services/org.salutatoi.SAT1.service",
        f"{data}/data/share/dbus-1/interfaces/org.salutatoi.SAT1.Core.xml",
        f"{data}/data/share/dbus-1/interfaces/org.salutatoi.SAT1.Plugin.xml",
        f"{data}/data/share/doc/sat/sat.conf.sample",
    ):
        assert expected in names, expected
    assert any(n.startswith("sat_backend/memory/migration/versions/") and n.endswith(".py") for n in names)
    assert not any(n.startswith("tests/") for n in names)
    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = configparser.ConfigParser()
    entry_points.read_string(zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode())
    assert dict(entry_points["console_scripts"]) == {
        "sat-backend": "sat_backend.core.launcher:main",
        "sat": "sat_frontends.cli.main:main",
        "sat-tray": "sat_frontends.tray.main:main",
    }


def test_installed_copy_creates_its_database_and_serves(
    wheel: Path, tmp_path: Path, backend_env: dict[str, str]
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, capture_output=True,
    )
    env = dict(backend_env, PYTHONPATH=str(target))
    where = subprocess.run(
        [sys.executable, "-c", "import sat_backend.memory.migration as m; print(list(m.__path__)[0])"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout
    assert where.startswith(str(target)), where
    # byte-compiled at install (pip's default for a wheel): a start, maybe by a user who
    # cannot write there, never compiles the sources itself (issue 14)
    compiled = _bytecode(target)
    assert {importlib.util.cache_from_source(str(source)) for source in target.glob("sat*/**/*.py")} <= compiled
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "sat_backend", "fg", "--ready-fd", str(write_end)],
        env=env, cwd=tmp_path, pass_fds=(write_end,), stderr=subprocess.PIPE, text=True,
    )
    os.close(write_end)
    try:
        assert _read_ready(read_end, 60), "installed backend did not start"
        with BridgeClient(env["DBUS_SESSION_BUS_ADDRESS"]) as client:
            client.profile_create("packaged", "p@example.org", "", "{}")
            assert client.profiles_list() == ["packaged"]
    finally:
        os.close(read_end)
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert (Path(env["XDG_DATA_HOME"]) / "sat" / "sat.db").exists()
    assert _bytecode(target) == compiled, "the start compiled modules the install had not"


def _bytecode(directory: Path) -> set[str]:
    return {str(path) for path in directory.glob("sat*/**/__pycache__/*.pyc")}
