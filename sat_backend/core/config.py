"""Where the backend keeps things (XDG base directories) and its INI configuration.

The config file is optional: without it every value has a default. A file that exists
but cannot be read or parsed, or that holds a bad value, is a start-up error whose one
line names the file, the section and key, and what is expected: silently running with
a default the user did not choose (another data dir, no cache) would be worse than
not starting.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path

APP_DIR = "sat"
CONFIG_FILE_NAME = "sat.conf"
DB_FILE_NAME = "sat.db"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
#: characters of a bad value quoted in an error (the value may be anything)
SHOWN_VALUE_LENGTH = 60
#: ``[xmpp] max_stanza_size`` default, in bytes: the smallest limit common servers apply
#: to what a client sends (ejabberd and jabberd2: 64 KiB; Prosody 0.12: 256 KiB) and
#: past which they close the stream. A chat message is far smaller; larger content
#: belongs in file transfer (XEP-0363). A user of a roomier server may raise it.
DEFAULT_MAX_STANZA_SIZE = 64 * 1024
#: the range accepted for ``max_stanza_size`` (Prosody refuses a limit under 10,000)
STANZA_SIZE_RANGE = (10_000, 64 * 1024 * 1024)


class ConfigError(Exception):
    """The configuration file is unusable or holds a bad value; the message says why and where."""


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable, "")
    # the XDG spec says relative paths are invalid and must be ignored
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def config_home() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / APP_DIR


def data_home() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / APP_DIR


def state_home() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / APP_DIR


def runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR/sat`` when the session has one, else the state dir (PID file)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / APP_DIR
    return state_home()


def default_config_path() -> Path:
    return config_home() / CONFIG_FILE_NAME


@dataclass
class Config:
    """Effective configuration of one backend run."""

    #: SQLAlchemy async URL; SQLite in the data dir by default
    database_url: str = ""
    data_dir: Path = field(default_factory=data_home)
    log_level: str = "info"
    #: log file for the daemon (``start``); ``fg`` logs to stderr
    log_file: Path = field(default_factory=lambda: state_home() / "sat-backend.log")
    pid_file: Path = field(default_factory=lambda: runtime_dir() / "sat-backend.pid")
    #: extra directories searched for ``plugin_*.py`` modules (third-party plugins)
    plugin_dirs: list[Path] = field(default_factory=list)
    #: import names of plugins not to load
    plugins_disabled: list[str] = field(default_factory=list)
    #: ``[pubsub] cache``: false makes every pubsub read go to the service (for all
    #: profiles, whatever their ``Pubsub/UseCache`` param says)
    pubsub_cache: bool = True
    #: ``[xmpp] request_timeout``: seconds a request (IQ) waits for its answer before the
    #: bridge call fails with ``Timeout`` (a 1,000-item pubsub node takes ≈ 0.4 s here)
    request_timeout: float = 60.0
    #: ``[xmpp] max_stanza_size``: bytes of the largest stanza we send (the server closes
    #: the stream on a larger one); see :data:`DEFAULT_MAX_STANZA_SIZE`
    max_stanza_size: int = DEFAULT_MAX_STANZA_SIZE
    #: ``[calls] ring_timeout``: seconds a call rings unanswered, either way (a Jingle
    #: ``session-initiate`` or a XEP-0353 proposal), before it ends with reason ``timeout``
    ring_timeout: float = 60.0
    #: where the config was read from (None: no file, defaults only)
    source: Path | None = None

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret.key"

    def __post_init__(self) -> None:
        if not self.database_url:
            self.database_url = sqlite_url(self.data_dir / DB_FILE_NAME)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def load_config(path: Path | None = None) -> Config:
    """Read the config file (``path``, else the XDG default) into a :class:`Config`.

    :raises ConfigError: an explicit ``path`` that does not exist, or any file that
        cannot be read or is not valid INI.
    """
    explicit = path is not None
    path = path if path is not None else default_config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist")
        return Config()
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as config_file:
            parser.read_file(config_file)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except configparser.Error as exc:
        raise ConfigError(f"config file {path} is not valid INI: {_parse_error(exc)}") from None
    return _from_parser(parser, path)


def _parse_error(exc: configparser.Error) -> str:
    """One line giving the line numbers, never the lines (they may hold a password of
    ``database_url``, or be huge)."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno}: a key before any [section] header"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"line {exc.lineno}: [{exc.section}] {exc.option} is given twice"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"line {exc.lineno}: section [{exc.section}] is given twice"
    if isinstance(exc, configparser.ParsingError):
        numbers = ", ".join(str(number) for number, _line in exc.errors[:10])
        return f"line {numbers}: neither 'key = value' nor a [section] header"
    return str(exc).splitlines()[0]


def _from_parser(parser: configparser.ConfigParser, source: Path) -> Config:
    config = Config(source=source)
    data_dir = _path_value(parser, "storage", "data_dir", source)
    if data_dir is not None:
        config.data_dir = data_dir
    config.database_url = parser.get("storage", "database_url", fallback="").strip()
    config.__post_init__()
    config.log_level = _choice_value(parser, "log", "level", LOG_LEVELS, config.log_level, source)
    log_file = _path_value(parser, "log", "file", source)
    if log_file is not None:
        config.log_file = log_file
    config.plugin_dirs = [Path(p).expanduser() for p in _list_value(parser, "plugins", "dirs")]
    config.plugins_disabled = _list_value(parser, "plugins", "disabled")
    config.pubsub_cache = _bool_value(parser, "pubsub", "cache", config.pubsub_cache, source)
    config.request_timeout = _positive_value(parser, "xmpp", "request_timeout", config.request_timeout, source)
    config.max_stanza_size = _integer_value(parser, "xmpp", "max_stanza_size", config.max_stanza_size,
                                            STANZA_SIZE_RANGE, source)
    config.ring_timeout = _positive_value(parser, "calls", "ring_timeout", config.ring_timeout, source)
    return config


def _bad_value(source: Path, section: str, key: str, raw: str, expected: str) -> ConfigError:
    shown = raw if len(raw) <= SHOWN_VALUE_LENGTH else raw[:SHOWN_VALUE_LENGTH] + "…"
    return ConfigError(f"config file {source}: [{section}] {key} = {shown!r}: expected {expected}")


def _choice_value(parser: configparser.ConfigParser, section: str, key: str, choices: tuple[str, ...],
                  default: str, source: Path) -> str:
    raw = parser.get(section, key, fallback="").strip()
    if not raw:
        return default
    if raw.lower() not in choices:
        raise _bad_value(source, section, key, raw, "one of " + ", ".join(choices))
    return raw.lower()


def _positive_value(parser: configparser.ConfigParser, section: str, key: str, default: float,
                    source: Path) -> float:
    raw = parser.get(section, key, fallback="").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise _bad_value(source, section, key, raw, "a number of seconds, 0 < s <= 3600")
    return value


def _integer_value(parser: configparser.ConfigParser, section: str, key: str, default: int,
                   bounds: tuple[int, int], source: Path) -> int:
    raw = parser.get(section, key, fallback="").strip()
    if not raw:
        return default
    low, high = bounds
    try:
        value = int(raw, 10)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise _bad_value(source, section, key, raw, f"a whole number of bytes, {low} <= n <= {high}")
    return value


def _bool_value(parser: configparser.ConfigParser, section: str, key: str, default: bool, source: Path) -> bool:
    try:
        return parser.getboolean(section, key, fallback=default)
    except ValueError:
        raw = parser.get(section, key, fallback="")
        raise _bad_value(source, section, key, raw, "true or false") from None


def _path_value(parser: configparser.ConfigParser, section: str, key: str, source: Path) -> Path | None:
    raw = parser.get(section, key, fallback="").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise _bad_value(source, section, key, raw, "an absolute path (or ~/…)")
    return path


def _list_value(parser: configparser.ConfigParser, section: str, key: str) -> list[str]:
    raw = parser.get(section, key, fallback="")
    return [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]
