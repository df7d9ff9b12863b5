"""Reading secrets and confirmations from the user, never from the command line."""

from __future__ import annotations

import sys


def read_first_line() -> str:
    """First line of stdin without its line ending (``--password-stdin``, ``--value-stdin``)."""
    line = sys.stdin.readline()
    return line.rstrip("\r\n")
