"""Files the backend writes are its user's only: 0600 files, 0700 directories.

The log holds JIDs and errors, the database messages and encrypted passwords: no other
user of the machine reads them, whatever umask the session has. A restrictive process
umask covers every file created later, SQLite's ``-wal``/``-shm`` included (SQLite
opens them itself); :func:`make_private` fixes files made by an earlier release.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: the daemon's umask: group and others get nothing
PRIVATE_UMASK = 0o077
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def restrict_umask() -> None:
    """Set the process umask to :data:`PRIVATE_UMASK` (call once, before creating files)."""
    os.umask(PRIVATE_UMASK)


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700 directories (existing ones are
    left as they are: they may be shared, like ``~/.local``).

    :raises OSError: a parent is a file, or cannot be created.
    """
    missing = [parent for parent in (path, *path.parents) if not parent.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a directory")


def make_private(path: Path) -> None:
    """Make an existing regular file 0600 (no-op when it does not exist)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode) and stat.S_IMODE(mode) != PRIVATE_FILE_MODE:
        os.chmod(path, PRIVATE_FILE_MODE)
