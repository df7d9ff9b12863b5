"""Rough edges a new user met in ``sat``: unknown profiles taken as filters, errors naming
the wrong argument, a ``--count`` that never stops, and commands that said nothing."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.fixtures.backend import BackendProcess
from tests.integration.message_changes_helpers import Alice, alice  # noqa: F401 - fixture
from tests.integration.test_cli import SAT, create, sat

#: seconds a command that must fail at once may take (the bug was: it never ended)
PROMPT_FAILURE = 30


def run(backend: BackendProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """``sat`` with a bound on its run time, for commands that used to run forever."""
    return subprocess.run([SAT, *args], env=backend.env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=PROMPT_FAILURE, check=False)


@pytest.mark.parametrize("command", [
    ("monitor", "-p", "ghost"),
    ("monitor", "-p", "alice", "-p", "ghost"),
    ("pubsub", "cache", "search", "-p", "ghost"),
    ("pubsub", "cache", "purge", "-p", "ghost"),
    ("profile", "delete", "ghost"),
])
def test_an_unknown_profile_is_refused(backend: BackendProcess, command: tuple[str, ...]) -> None:
    create(backend, "alice", "alice@example.org")
    result = run(backend, *command)
    assert (result.returncode, result.stdout) == (12, ""), result.stderr
    assert result.stderr == "sat: ProfileUnknown: no profile named 'ghost' (see sat profile list)\n"


def test_an_unknown_long_profile_name_is_not_echoed_in_full(backend: BackendProcess) -> None:
    result = run(backend, "profile", "delete", "g" * 10_000)
    assert result.returncode == 12 and len(result.stderr) < 200


@pytest.mark.parametrize("count", ["0", "-1"])
def test_monitor_count_below_one_is_refused(backend: BackendProcess, count: str) -> None:
    result = run(backend, "monitor", "--count", count)
    assert result.returncode == 2 and "must be 1 or more" in result.stderr


@pytest.mark.parametrize(("args", "named"), [(("bad jid@@",), "JID"), (("--from", "bad jid@@"), "--from")])
def test_history_names_the_argument_the_user_typed(backend: BackendProcess, args: tuple[str, ...],
                                                   named: str) -> None:
    create(backend, "alice", "alice@example.org")
    result = sat(backend, "history", *args, "-p", "alice")
    assert result.returncode == 10
    assert result.stderr.startswith(f"sat: InvalidArgument: {named}: "), result.stderr
    assert "from_jid" not in result.stderr


def test_empty_lists_say_so_on_stderr(backend: BackendProcess) -> None:
    assert sat(backend, "profile", "list").stderr == "no profile yet (sat profile create)\n"
    create(backend, "alice", "alice@example.org")
    for command, notice in ((("roster", "list"), "no contacts"), (("history",), "no messages")):
        text = sat(backend, *command, "-p", "alice")
        assert (text.returncode, text.stdout, text.stderr) == (0, "", notice + "\n")
        as_json = sat(backend, "-O", "json", *command, "-p", "alice")
        assert (as_json.stdout, as_json.stderr) == ("[]\n", "")


def test_message_changes_are_confirmed(backend: BackendProcess, alice: Alice) -> None:  # noqa: F811
    uid = sat(backend, "message", "send", "bob@localhost", "typo", "-p", "alice").stdout.strip()
    steps = [
        (("message", "react", uid, "👍"), "reactions set"),
        (("message", "edit", uid, "no", "typo"), "message edited"),
        (("message", "retract", uid), "message retracted"),
    ]
    for command, _ in steps[:2]:  # not the retraction: it is final
        as_json = sat(backend, "-O", "json", *command, "-p", "alice")
        assert (as_json.returncode, json.loads(as_json.stdout)) == (0, {"ok": True}), as_json.stderr
    for command, confirmation in steps:
        result = sat(backend, *command, "-p", "alice")
        assert (result.returncode, result.stdout) == (0, confirmation + "\n"), result.stderr
