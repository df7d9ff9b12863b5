"""Constants of the backend core, in one place."""

from __future__ import annotations

APP_NAME = "SàT"

# exit codes of ``sat-backend`` (documented in doc/user-guide.rst)
EXIT_OK = 0
#: unexpected failure; also ``status``: not running but a stale PID file remains (LSB)
EXIT_ERROR = 1
EXIT_STALE_PID = 1
#: command-line usage error (argparse)
EXIT_USAGE = 2
#: ``status``/``stop``: the daemon is not running (LSB)
EXIT_NOT_RUNNING = 3
#: the database is unusable (corrupt, foreign, made by a newer SàT)
EXIT_DATABASE = 4
#: the session bus is unreachable or another backend already runs
EXIT_BUS = 5
#: the log file cannot be created or written (sysexits EX_CANTCREAT)
EXIT_CANT_CREATE = 73
#: the configuration file cannot be read or parsed, or holds a bad value (sysexits EX_CONFIG)
EXIT_CONFIG = 78
