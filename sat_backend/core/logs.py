"""Logging set-up: stdlib logging for our code and Twisted's, to stderr or a file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from sat_backend.core.private_files import PRIVATE_FILE_MODE, make_private, make_private_dir

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class LogFileError(Exception):
    """The log file cannot be created or written; the message names it and says why."""


def prepare_log_file(path: Path) -> None:
    """Make sure ``path`` can be appended to: missing directories are created 0700, the
    file 0600 (an existing one is made 0600).

    :raises LogFileError: not creatable or not writable (a directory, a parent that is
        a file, no permission, read-only file system…).
    """
    try:
        make_private_dir(path.parent)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
        with os.fdopen(descriptor, "a", encoding="utf-8"):
            pass  # opened as logging opens it (append seeks to the end: some files refuse)
        make_private(path)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _cannot_write(path: Path, exc: OSError) -> LogFileError:
    return LogFileError(f"cannot write the log file {path}: {exc.strerror or exc}")


def setup_logging(level: str, log_file: Path | None = None) -> None:
    """Send every log record (ours and Twisted's) to stderr, or to ``log_file``.

    :raises LogFileError: ``log_file`` cannot be written.
    """
    handler: logging.Handler
    if log_file is not None:
        prepare_log_file(log_file)
        try:
            handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:  # replaced or made unwritable since
            raise _cannot_write(log_file, exc) from None
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # third-party chatter stays at warning unless we debug
    for noisy in ("sqlalchemy", "aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level != "debug" else logging.INFO)
    from twisted.logger import ILogObserver, STDLibLogObserver, globalLogBeginner

    observer = ILogObserver(STDLibLogObserver(name="twisted"))
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
