"""Pure pieces of the ``sat`` CLI: argument conversion, output formats, exit codes."""

from __future__ import annotations

import io
import json

import pytest

from sat_bridge.errors import ERRORS_BY_NAME, InvalidArgument
from sat_frontends.cli import exit_codes
from sat_frontends.cli.commands.debug import convert_argument
from sat_frontends.cli.commands.profile import connection_options
from sat_frontends.cli.main import build_parser
from sat_frontends.cli.output import Output


@pytest.mark.parametrize(
    ("text", "signature", "expected"),
    [
        ("hello", "s", "hello"),
        ("42", "i", 42),
        ("0x10", "u", 16),
        ("-3", "x", -3),
        ("2.5", "d", 2.5),
        ("true", "b", True),
        ("0", "b", False),
        ('["a", "b"]', "as", ["a", "b"]),
        ('{"k": "v"}', "a{ss}", {"k": "v"}),
    ],
)
def test_debug_arguments_follow_the_signature(text: str, signature: str, expected: object) -> None:
    assert convert_argument(text, signature, "arg") == expected


@pytest.mark.parametrize(("text", "signature"), [("x", "i"), ("maybe", "b"), ("[", "as"), ("1.5", "i")])
def test_debug_arguments_of_the_wrong_type_are_refused(text: str, signature: str) -> None:
    with pytest.raises(InvalidArgument, match="arg"):
        convert_argument(text, signature, "arg")


def test_every_bridge_error_has_its_own_exit_code() -> None:
    codes = {name: exit_codes.for_error(cls("x")) for name, cls in ERRORS_BY_NAME.items()}
    typed = {name: code for name, code in codes.items() if name != "Internal"}
    assert len(set(typed.values())) == len(typed), "two errors share an exit code"
    assert all(code >= 10 for code in typed.values())
    assert codes["Internal"] == exit_codes.FAILURE


def test_json_output_is_parseable_and_errors_go_to_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    output = Output("json", out, err)
    output.lines(["a", "é"], empty="none")
    output.table([{"name": "x", "value": None}], ["name", "value"], empty="none")
    output.error("NotFound", "no such thing")
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        ["a", "é"],
        [{"name": "x", "value": None}],
    ]
    assert json.loads(err.getvalue()) == {"error": "NotFound", "message": "no such thing"}


def test_text_table_aligns_columns() -> None:
    out = io.StringIO()
    Output("text", out).table(
        [{"name": "Port", "value": 5222}, {"name": "Autoconnect", "value": True}], ["name", "value"], empty="none"
    )
    assert out.getvalue().splitlines() == [
        "NAME         VALUE",
        "Port         5222",
        "Autoconnect  yes",
    ]


def test_an_empty_list_says_so_on_stderr_only_in_text_mode() -> None:
    out, err = io.StringIO(), io.StringIO()
    Output("text", out, err).table([], ["jid"], empty="no contacts")
    Output("text", out, err).lines([], empty="no profile yet")
    assert (out.getvalue(), err.getvalue()) == ("", "no contacts\nno profile yet\n")
    out, err = io.StringIO(), io.StringIO()
    Output("json", out, err).table([], ["jid"], empty="no contacts")
    assert (out.getvalue(), err.getvalue()) == ("[]\n", "")


@pytest.mark.parametrize("count", ["0", "-1", "many"])
def test_monitor_count_below_one_is_a_usage_error(count: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["monitor", "--count", count])
    assert exit_info.value.code == 2


def test_monitor_without_count_runs_until_interrupted() -> None:
    assert build_parser().parse_args(["monitor"]).count is None
    assert build_parser().parse_args(["monitor", "--count", "3"]).count == 3


def test_profile_create_sends_only_the_options_given() -> None:
    args = build_parser().parse_args(
        ["profile", "create", "p", "a@b.c", "--port", "5223", "--no-autoconnect"]
    )
    assert connection_options(args) == {"port": 5223, "autoconnect": False}


def test_password_is_not_a_command_line_argument() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["profile", "create", "p", "a@b.c", "secret"])


def test_user_guide_documents_every_exit_code() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "doc" / "user-guide.rst").read_text()
    for name, code in exit_codes.BY_ERROR_NAME.items():
        if code >= 10:
            assert f"\n{code}   ``{name}``" in guide, name
