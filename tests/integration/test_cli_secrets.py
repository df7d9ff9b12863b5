"""Secrets never on the command line: ``sat`` refuses them there and asks without echo.

Every user of the machine can read a process's arguments (``ps``), so a password given
as an argument is refused before anything is sent, and at a terminal it is asked with
echo off: the tests type it on a real pseudo-terminal and read what the terminal showed.
"""

from __future__ import annotations

from tests.fixtures.backend import BackendProcess
from tests.fixtures.terminal import run_in_terminal
from tests.integration.test_cli import SAT, create, sat

ON_ARGV = "hunter2-on-argv"
TYPED = "typed-at-the-terminal"


def test_a_password_param_is_refused_as_an_argument(backend: BackendProcess) -> None:
    create(backend, "alice", "alice@example.org")
    refused = sat(backend, "param", "set", "Connection", "Password", ON_ARGV, "-p", "alice")
    assert refused.returncode == 10, refused.stderr
    assert "password" in refused.stderr and "--value-stdin" in refused.stderr
    assert ON_ARGV not in refused.stdout + refused.stderr + backend.log_text()
    # not a terminal and no --value-stdin: a clear error, not a silent wait
    no_terminal = sat(backend, "param", "set", "Connection", "Password", "-p", "alice")
    assert no_terminal.returncode == 10 and "--value-stdin" in no_terminal.stderr
    # other params still take their value from the command line
    assert sat(backend, "param", "set", "Connection", "Port", "5299", "-p", "alice").returncode == 0


def test_debug_bridge_refuses_secret_arguments(backend: BackendProcess) -> None:
    refused = sat(backend, "debug", "bridge", "ProfileCreate", "bob", "bob@example.org", ON_ARGV, "{}")
    assert refused.returncode == 10 and "secret" in refused.stderr
    assert ON_ARGV not in refused.stderr
    made = sat(backend, "debug", "bridge", "ProfileCreate", "bob", "bob@example.org", "-", "{}",
               stdin="from stdin\n")
    assert made.returncode == 0, made.stderr
    assert sat(backend, "profile", "list").stdout == "bob\n"


def test_profile_create_at_a_terminal_asks_without_echo(backend: BackendProcess) -> None:
    assert backend.client is not None
    run = run_in_terminal([SAT, "profile", "create", "me", "me@example.org", "--password-stdin"],
                          backend.env, prompt="XMPP password:", answer=TYPED)
    assert run.returncode == 0, run.transcript
    assert TYPED not in run.transcript
    assert "created" in run.transcript
    assert backend.client.profiles_list() == ["me"]


def test_password_param_at_a_terminal_is_asked_without_echo(backend: BackendProcess) -> None:
    create(backend, "alice", "alice@example.org")
    run = run_in_terminal([SAT, "param", "set", "Connection", "Password", "-p", "alice"],
                          backend.env, prompt="Connection/Password:", answer=TYPED)
    assert run.returncode == 0, run.transcript
    assert TYPED not in run.transcript and "Connection/Password set" in run.transcript
    assert TYPED not in backend.log_text()
