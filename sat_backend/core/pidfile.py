"""PID file of the daemon: one backend per user, and how ``stop``/``status`` find it."""

from __future__ import annotations

import os
from pathlib import Path


def write(path: Path) -> None:
    """Write our PID atomically (a reader never sees a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(f"{os.getpid()}\n", encoding="ascii")
    temporary.replace(path)


def remove(path: Path) -> None:
    """Remove the PID file if it is still ours."""
    if read(path) == os.getpid():
        path.unlink(missing_ok=True)


def read(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def running_pid(path: Path) -> int | None:
    """PID of a live backend recorded in ``path``, or None (no file, dead or reused PID)."""
    pid = read(path)
    if pid is None or pid == os.getpid() or not is_alive(pid):
        return None
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no procfs: trust the PID
    return pid if b"sat_backend" in command_line or b"sat-backend" in command_line else None


def is_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return "\nState:\tZ" not in status
