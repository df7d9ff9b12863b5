"""Config file loading and XDG paths (pure logic on temp files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sat_backend.core import config as config_module
from sat_backend.core.config import ConfigError, load_config


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CONFIG", "DATA", "STATE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / name.lower()))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    return tmp_path


def test_defaults_follow_xdg(xdg: Path) -> None:
    config = load_config()
    assert config.source is None
    assert config.data_dir == xdg / "data" / "sat"
    assert config.database_url == f"sqlite+aiosqlite:///{xdg / 'data' / 'sat' / 'sat.db'}"
    assert config.pid_file == xdg / "run" / "sat" / "sat-backend.pid"
    assert config.log_file == xdg / "state" / "sat" / "sat-backend.log"
    assert config.secret_key_file == xdg / "data" / "sat" / "secret.key"


def test_relative_xdg_values_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    assert config_module.data_home() == Path.home() / ".local/share/sat"


def test_file_values(xdg: Path) -> None:
    path = xdg / "config" / "sat" / "sat.conf"
    path.parent.mkdir(parents=True)
    path.write_text(
        "[storage]\ndata_dir = /srv/sat\n[log]\nlevel = DEBUG\nfile = /var/log/sat.log\n"
        "[plugins]\ndirs = /a, /b\ndisabled = XEP-0060\n"
    )
    config = load_config()
    assert config.source == path
    assert config.data_dir == Path("/srv/sat")
    assert config.database_url == "sqlite+aiosqlite:////srv/sat/sat.db"
    assert config.log_level == "debug"
    assert config.log_file == Path("/var/log/sat.log")
    assert config.plugin_dirs == [Path("/a"), Path("/b")]
    assert config.plugins_disabled == ["XEP-0060"]
    assert config.pubsub_cache is True  # not in the file: the default


def test_pubsub_cache_switch(xdg: Path) -> None:
    path = xdg / "c.conf"
    path.write_text("[pubsub]\ncache = off\n")
    assert load_config(path).pubsub_cache is False
    path.write_text("[pubsub]\ncache = sometimes\n")
    with pytest.raises(ConfigError, match=r"\[pubsub\] cache = 'sometimes': expected true or false"):
        load_config(path)


def test_request_timeout(xdg: Path) -> None:
    path = xdg / "c.conf"
    assert load_config(path if path.exists() else None).request_timeout == 60.0
    path.write_text("[xmpp]\nrequest_timeout = 2.5\n")
    assert load_config(path).request_timeout == 2.5
    for bad in ("0", "-3", "soon", "86400", "nan"):
        path.write_text(f"[xmpp]\nrequest_timeout = {bad}\n")
        with pytest.raises(ConfigError, match="expected a number of seconds") as raised:
            load_config(path)
        assert f"{path}: [xmpp] request_timeout = {bad!r}" in str(raised.value)


def test_ring_timeout(xdg: Path) -> None:
    path = xdg / "c.conf"
    assert load_config(None).ring_timeout == 60.0
    path.write_text("[calls]\nring_timeout = 0.5\n")
    assert load_config(path).ring_timeout == 0.5
    for bad in ("0", "-1", "a minute", "3601"):
        path.write_text(f"[calls]\nring_timeout = {bad}\n")
        with pytest.raises(ConfigError, match=rf"\[calls\] ring_timeout = '{bad}': expected a number of seconds"):
            load_config(path)


def test_max_stanza_size(xdg: Path) -> None:
    path = xdg / "c.conf"
    assert load_config(None).max_stanza_size == 64 * 1024
    path.write_text("[xmpp]\nmax_stanza_size = 262144\n")
    assert load_config(path).max_stanza_size == 262144
    for bad in ("0", "9999", "64k", "1e6", "\u00b2", str(2**40)):
        path.write_text(f"[xmpp]\nmax_stanza_size = {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="expected a whole number of bytes") as raised:
            load_config(path)
        assert f"{path}: [xmpp] max_stanza_size = {bad!r}" in str(raised.value)


def test_explicit_database_url_wins(xdg: Path) -> None:
    path = xdg / "c.conf"
    path.write_text("[storage]\ndatabase_url = postgresql+asyncpg://u@localhost/sat\n")
    assert load_config(path).database_url == "postgresql+asyncpg://u@localhost/sat"


def test_a_huge_bad_value_is_shown_shortened(xdg: Path) -> None:
    path = xdg / "c.conf"
    path.write_text("[log]\nlevel = " + "x" * 10_000 + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert len(str(raised.value)) < len(str(path)) + 200 and "…" in str(raised.value)


def test_log_level_is_case_insensitive(xdg: Path) -> None:
    path = xdg / "c.conf"
    path.write_text("[log]\nlevel = Warning\n")
    assert load_config(path).log_level == "warning"


@pytest.mark.parametrize(
    "content, message",
    [
        # a bad value: the user guide promises exit 78, no silent default the user did not choose
        ("[log]\nlevel = loud\n", ": [log] level = 'loud': expected one of debug, info, warning, error, critical"),
        ("[log]\nfile = relative.log\n", ": [log] file = 'relative.log': expected an absolute path (or ~/…)"),
        ("[storage]\ndata_dir = here\n", ": [storage] data_dir = 'here': expected an absolute path (or ~/…)"),
        # not parsable: line numbers, never the lines' text (a database_url password could be there)
        ("password = hunter2\n[log]\n", " is not valid INI: line 1: a key before any [section] header"),
        ("[log]\nlevel = info\nsecret junk\n[xmpp\n",
         " is not valid INI: line 3, 4: neither 'key = value' nor a [section] header"),
        ("[log]\nlevel = info\nlevel = debug\n", " is not valid INI: line 3: [log] level is given twice"),
        ("[log]\n[xmpp]\n[log]\n", " is not valid INI: line 3: section [log] is given twice"),
    ],
)
def test_unusable_content_is_one_line_naming_file_and_place(xdg: Path, content: str, message: str) -> None:
    path = xdg / "c.conf"
    path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"config file {path}{message}"


def test_unusable_files_raise(xdg: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(xdg / "absent.conf")
    broken = xdg / "broken.conf"
    broken.write_text("no section header\n")
    with pytest.raises(ConfigError, match="not valid INI"):
        load_config(broken)
    directory = xdg / "dir.conf"
    directory.mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(directory)


def test_the_shipped_sample_loads_as_the_defaults() -> None:
    """Every value the sample sets is valid (a bad one would now stop the daemon) and
    is the default, as the sample says."""
    sample = Path(__file__).resolve().parents[2] / "data" / "sat.conf.sample"
    loaded = load_config(sample)
    defaults = load_config(None)
    assert (loaded.log_level, loaded.log_file, loaded.database_url, loaded.request_timeout, loaded.pubsub_cache,
            loaded.max_stanza_size, loaded.ring_timeout) == (
        defaults.log_level, defaults.log_file, defaults.database_url, defaults.request_timeout, defaults.pubsub_cache,
        defaults.max_stanza_size, defaults.ring_timeout)
