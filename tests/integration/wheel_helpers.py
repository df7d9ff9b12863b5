"""The project's wheel, built as `pip wheel` does, for the packaging tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build_wheel(out: Path) -> Path:
    """Build the wheel of the source tree into ``out``; its path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, cwd=out,
    )
    (built,) = out.glob("sat-*.whl")
    return built
