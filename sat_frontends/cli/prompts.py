"""Reading secrets and confirmations from the user, never from the command line.

Arguments are visible to every user of the machine (``ps``, ``/proc/PID/cmdline``), so a
secret comes from a no-echo prompt when there is a terminal, or from the first line of
stdin when the user says so (``--password-stdin``, ``--value-stdin``).
"""

from __future__ import annotations

import getpass
import sys

from sat_bridge.errors import InvalidArgument


def read_first_line() -> str:
    """First line of stdin without its line ending (``--password-stdin``, ``--value-stdin``)."""
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def read_secret(prompt: str, *, from_stdin: bool, stdin_option: str) -> str:
    """A secret typed at a no-echo prompt when stdin is a terminal, else stdin's first line.

    On a terminal the prompt wins even with ``stdin_option``: reading a plain line there
    would echo the secret and wait without a word.

    :raises InvalidArgument: no terminal and ``stdin_option`` was not given, or Ctrl-D.
    """
    if sys.stdin.isatty():
        try:
            return getpass.getpass(prompt)
        except EOFError:  # Ctrl-D at the prompt: nothing typed, not a crash
            raise InvalidArgument("nothing was typed at the prompt") from None
    if from_stdin:
        return read_first_line()
    raise InvalidArgument(f"no terminal to ask for it: give it on stdin with {stdin_option}")


def confirm(question: str) -> bool:
    """Ask a yes/no question at the terminal; anything but y/yes (Ctrl-D too) is no."""
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
