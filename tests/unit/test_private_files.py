"""Private files and directories (pure file-system logic on temp dirs)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from sat_backend.core.private_files import make_private, make_private_dir


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, to show the modes do not come from it."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_directories_are_made_0700_and_existing_ones_left(tmp_path: Path, open_umask: None) -> None:
    tmp_path.chmod(0o755)
    make_private_dir(tmp_path / "a" / "b" / "c")
    assert [mode(tmp_path / part) for part in ("a", "a/b", "a/b/c")] == [0o700] * 3
    assert mode(tmp_path) == 0o755  # not ours to change (think ~/.local)
    make_private_dir(tmp_path / "a" / "b" / "c")  # already there: fine


def test_a_parent_that_is_a_file_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OSError):
        make_private_dir(tmp_path / "plain" / "logs")
    with pytest.raises(NotADirectoryError):
        make_private_dir(tmp_path / "plain")


def test_existing_files_become_0600(tmp_path: Path) -> None:
    file = tmp_path / "sat.db"
    file.write_bytes(b"")
    file.chmod(0o644)
    make_private(file)
    assert mode(file) == 0o600
    make_private(tmp_path / "absent")  # nothing to do
    assert not (tmp_path / "absent").exists()
