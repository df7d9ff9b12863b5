"""Knowing when the database cannot write because its disk is full, and when it can again.

A full disk is not a bug to log per failed query: it is a state of the machine the user must
act on (free space). :class:`DiskFullWatch` turns storage errors into that state, says it once
in the log and tells listeners (the core emits ``StorageStatus``), and says when a write
succeeds again.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: SQLite's primary result code for "database or disk is full"
SQLITE_FULL = 13
#: PostgreSQL's SQLSTATE for disk_full
PG_DISK_FULL = "53100"

#: called with (full, detail): True when writes start failing for lack of space, False
#: when one succeeds again
DiskFullListener = Callable[[bool, str], None]


def is_disk_full(exc: BaseException) -> bool:
    """Whether a storage error (SQLAlchemy's, or the driver's inside it) means no space left."""
    original = getattr(exc, "orig", None) or exc
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == SQLITE_FULL:
        return True
    if getattr(original, "sqlstate", None) == PG_DISK_FULL or getattr(original, "pgcode", None) == PG_DISK_FULL:
        return True
    if isinstance(original, OSError) and original.errno == errno.ENOSPC:
        return True
    return "disk is full" in str(original).lower()


class DiskFullWatch:
    """The "disk full" state of one database, with listeners told of each change."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.full = False
        self._listeners: list[DiskFullListener] = []

    def listen(self, listener: DiskFullListener) -> None:
        self._listeners.append(listener)

    def write_failed(self, detail: str) -> None:
        """A write failed for lack of space: logged and announced once per episode."""
        if self.full:
            log.debug("the disk holding %s is still full: %s", self.location, detail)
            return
        self.full = True
        log.error(
            "the disk holding the database %s is full: writes fail (%s); messages received meanwhile "
            "are fetched again from the server's archive once space is freed", self.location, detail,
        )
        self._tell(True, detail)

    def write_succeeded(self) -> None:
        if not self.full:
            return
        self.full = False
        log.warning("the database %s can write again: the disk has free space", self.location)
        self._tell(False, "")

    def _tell(self, full: bool, detail: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(full, detail)
            except Exception:  # noqa: BLE001 - a listener must not hide the storage error
                log.exception("a disk-full listener failed")
