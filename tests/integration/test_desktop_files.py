"""`pip install` of the wheel puts the desktop integration where desktops look, under
its prefix: the tray's menu entry and XDG autostart file, the backend's systemd --user
unit, the hicolor icons; each is valid for the tools that read it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path

import pytest

from tests.integration.wheel_helpers import build_wheel

ICONS = ("sat-tray", "sat-tray-available", "sat-tray-away", "sat-tray-dnd", "sat-tray-offline", "sat-tray-unread")


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prefix where the wheel was installed with pip, as a user's venv or /usr/local."""
    out = tmp_path_factory.mktemp("desktop")
    wheel = build_wheel(out)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", "--prefix", str(out / "prefix"), str(wheel)],
        check=True, capture_output=True,
    )
    return out / "prefix"


def ini_section(path: Path, section: str) -> dict[str, str]:
    """One section of a desktop entry, systemd unit or D-Bus service file."""
    parser = ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser[section])


def desktop_entry(path: Path) -> dict[str, str]:
    return ini_section(path, "Desktop Entry")


@pytest.mark.parametrize("where", ["share/applications", "etc/xdg/autostart"])
def test_desktop_files_are_installed_and_valid(prefix: Path, where: str) -> None:
    path = prefix / where / "sat-tray.desktop"
    assert path.is_file()
    validator = shutil.which("desktop-file-validate")
    assert validator is not None, "desktop-file-validate missing: scripts/install-system-deps.sh"
    checked = subprocess.run([validator, str(path)], capture_output=True, text=True)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
    entry = desktop_entry(path)
    assert entry["Exec"] == "sat-tray" and entry["Icon"] == "sat-tray" and entry["Type"] == "Application"
    # the command it runs is the one pip installed
    assert (prefix / "bin" / "sat-tray").is_file()


def test_systemd_user_unit_is_installed_and_valid(prefix: Path) -> None:
    path = prefix / "share" / "systemd" / "user" / "sat-backend.service"
    assert path.is_file()
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze missing (package systemd)"
    checked = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    # verify warns (exit 0) about settings it ignores: a clean unit prints nothing
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
    service = ini_section(path, "Service")
    assert service["Type"] == "dbus"
    assert service["BusName"] == "org.salutatoi.SAT1"
    assert service["ExecStart"].endswith("sat-backend fg")


def test_dbus_activation_hands_over_to_the_systemd_unit(prefix: Path) -> None:
    """On a bus with systemd activation (dbus-broker, or dbus-daemon under systemd) the
    activation file names the unit installed beside it, which owns the same name and runs
    the same command; a bus without it runs ``Exec=`` (``test_launcher``)."""
    activation = ini_section(prefix / "share" / "dbus-1" / "services" / "org.salutatoi.SAT1.service",
                             "D-BUS Service")
    assert activation["SystemdService"] == "sat-backend.service"
    unit = ini_section(prefix / "share" / "systemd" / "user" / activation["SystemdService"], "Service")
    assert unit["BusName"] == activation["Name"] == "org.salutatoi.SAT1"
    assert unit["ExecStart"] == activation["Exec"]


def test_hicolor_icons_are_installed_svg(prefix: Path) -> None:
    directory = prefix / "share" / "icons" / "hicolor" / "scalable" / "apps"
    for name in ICONS:
        root = ET.parse(directory / f"{name}.svg").getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name


def test_installed_tray_command_runs(prefix: Path) -> None:
    """The installed entry point imports from the installed copy and answers --help."""
    site = sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})
    result = subprocess.run([str(prefix / "bin" / "sat-tray"), "--help"], capture_output=True, text=True,
                            env={"PYTHONPATH": site, "PATH": "/usr/bin:/bin"}, cwd=prefix)
    assert result.returncode == 0, result.stderr
    assert "--privacy" in result.stdout
