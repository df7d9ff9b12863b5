"""Prompts of ``sat`` at a terminal: Ctrl-D is an answer, not a traceback."""

from __future__ import annotations

import getpass
import io

import pytest

from sat_bridge.errors import InvalidArgument
from sat_frontends.cli import prompts


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def end_of_file(*_args: object) -> str:
    raise EOFError


def test_ctrl_d_at_a_secret_prompt_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", end_of_file)
    with pytest.raises(InvalidArgument, match="nothing was typed"):
        prompts.read_secret("XMPP password: ", from_stdin=True, stdin_option="--password-stdin")


def test_ctrl_d_at_a_confirmation_means_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", end_of_file)
    assert prompts.confirm("Delete?") is False
    monkeypatch.setattr("builtins.input", lambda _question: " Yes ")
    assert prompts.confirm("Delete?") is True


def test_without_a_terminal_the_stdin_option_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("secret\n"))
    with pytest.raises(InvalidArgument, match="--value-stdin"):
        prompts.read_secret("x: ", from_stdin=False, stdin_option="--value-stdin")
    assert prompts.read_secret("x: ", from_stdin=True, stdin_option="--value-stdin") == "secret"
