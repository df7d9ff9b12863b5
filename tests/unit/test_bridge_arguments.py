"""The checks every bridge call's arguments go through before any implementation runs
(embedded bridge, no bus): bounds, XML-forbidden characters, bounded error messages and
log lines without secrets nor message text."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from sat_bridge import arguments, errors
from sat_bridge.embedded import EmbeddedBridge
from sat_bridge.spec import Arg, Method, full_spec

SEND = Method(
    "Send", "plugin",
    (
        Arg("to", "s", max_length=64),
        Arg("bodies", "a{ss}", content=True),
        Arg("tags", "as"),
        Arg("password", "s", secret=True),
        Arg("rows", "a(si)"),
    ),
    "s", "send",
)
CLEAN = ("bob@example.org", {"": "hello"}, ["a", "b"], "pw", [("x", 1)])


def _call(*args: Any, implementation: Any = None) -> Any:
    bridge = EmbeddedBridge()
    calls: list[tuple[Any, ...]] = []

    def record(*received: Any) -> str:
        calls.append(received)
        return "ok"

    bridge.add_method(SEND, implementation or record)
    result = asyncio.run(bridge.call("Send", *args))
    assert calls == [args] or implementation is not None
    return result


def _refused(*args: Any) -> str:
    """The InvalidArgument message of a call the checks refuse (the implementation never runs)."""
    def never(*_args: Any) -> str:
        raise AssertionError("the implementation ran")

    with pytest.raises(errors.InvalidArgument) as caught:
        _call(*args, implementation=never)
    return caught.value.message


def _with(index: int, value: Any) -> tuple[Any, ...]:
    args = list(CLEAN)
    args[index] = value
    return tuple(args)


def test_clean_arguments_reach_the_implementation() -> None:
    assert _call(*CLEAN) == "ok"


@pytest.mark.parametrize(
    ("index", "value", "where"),
    [
        (0, "bell\x07", "argument 'to'"),
        (1, {"en": "ok", "fr": "a\ufffe"}, "argument 'bodies' value #1"),
        (1, {"e\x01n": "ok"}, "argument 'bodies' key #0"),
        (2, ["ok", "\ud800"], "argument 'tags'[1]"),
        (3, "hunter\x002", "argument 'password'"),
        (4, [("x", 1), ("\x1f", 2)], "argument 'rows'[1].0"),
    ],
)
def test_xml_forbidden_characters_are_refused_naming_where(index: int, value: Any, where: str) -> None:
    message = _refused(*_with(index, value))
    assert message.startswith(f"Send: {where} contains a character XML does not allow (U+")
    assert "position" in message
    for text in ("bell", "hunter"):
        assert text not in message


def test_a_string_over_its_bound_is_refused_naming_the_bound() -> None:
    message = _refused(*_with(0, "x" * 65))
    assert message == "Send: argument 'to' is longer than 64 characters"


def test_the_default_string_bound() -> None:
    assert _call(*_with(2, ["y" * arguments.MAX_STRING])) == "ok"
    message = _refused(*_with(2, ["y" * (arguments.MAX_STRING + 1)]))
    assert message == f"Send: argument 'tags'[0] is longer than {arguments.MAX_STRING} characters"


def test_too_many_entries_are_refused() -> None:
    message = _refused(*_with(2, ["t"] * (arguments.MAX_ITEMS + 1)))
    assert message == f"Send: argument 'tags' has more than {arguments.MAX_ITEMS} entries"


def test_the_total_size_of_one_argument_is_bounded() -> None:
    bodies = {str(index): "z" * (arguments.MAX_STRING - 10) for index in range(5)}
    message = _refused(*_with(1, bodies))
    assert message == f"Send: argument 'bodies' is larger than {arguments.MAX_TOTAL} characters and entries in all"


def test_error_messages_are_bounded_whatever_they_quote() -> None:
    error = errors.NotFound("there is no profile named " + "p" * 8_000_000)
    assert len(error.message) == errors.MAX_MESSAGE_LENGTH
    assert error.message.endswith("more characters)")
    assert errors.NotFound("short").message == "short"


def test_failed_calls_log_arguments_cut_and_without_secrets_nor_text(caplog: pytest.LogCaptureFixture) -> None:
    def fail(*_args: Any) -> str:
        raise errors.Conflict("no")

    long_tag = "t" * 10_000
    with caplog.at_level(logging.DEBUG, logger="sat_bridge.dispatch"), pytest.raises(errors.Conflict):
        _call("bob@example.org", {"": "dear diary"}, [long_tag], "hunter2", [], implementation=fail)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Send(" in logged
    assert "dear diary" not in logged and "hunter2" not in logged
    assert long_tag not in logged and "more characters" in logged
    assert max(len(line) for line in logged.splitlines()) < 600


@pytest.mark.parametrize(("member", "argument", "bound"), [
    ("PsNodeCreate", "node", 3071), ("PsItemSend", "item_id", 3071), ("PsItemsGet", "item_ids", 3071),
    ("PsItemsGet", "sub_id", 3071), ("PsItemRetract", "item_id", 3071), ("PsSubscriptionsGet", "node", 3071),
    ("MbGet", "node", 3071), ("MbRetract", "item_id", 3071), ("PsCacheGet", "item_ids", 3071),
    ("DiscoInfos", "node", 3071), ("ContactUpdate", "name", 1023), ("ContactUpdate", "groups", 1023),
])
def test_identifiers_and_names_have_a_tight_bound(member: str, argument: str, bound: int) -> None:
    """Identifiers and names go into stanzas by the dozen: a JID's bound (or a JID
    part's for names), far under the 256 KiB default, keeps their stanza small."""
    method = full_spec()[member]
    assert isinstance(method, Method)
    (spec_arg,) = [arg for arg in method.args if arg.name == argument]
    assert spec_arg.max_length == bound
    args: list[Any] = ["" if arg.signature == "s" else [] if arg.signature == "as" else 0 for arg in method.args]
    position = method.args.index(spec_arg)
    args[position] = ["n" * (bound + 1)] if spec_arg.signature == "as" else "n" * (bound + 1)
    with pytest.raises(errors.InvalidArgument, match=f"longer than {bound} characters"):
        arguments.check_arguments(method, tuple(args))
    args[position] = ["n" * bound] if spec_arg.signature == "as" else "n" * bound
    arguments.check_arguments(method, tuple(args))
