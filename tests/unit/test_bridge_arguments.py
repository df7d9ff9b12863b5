"""The checks every bridge call's arguments go through before any implementation runs
(embedded bridge, no bus): bounds, XML-forbidden characters, bounded error messages and
log lines without secrets nor message text."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from dbus_fast import Variant
from dbus_fast.signature import SignatureType, get_signature_tree
from hypothesis import given, settings
from hypothesis import strategies as st

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


# the compiled checks every call runs accept exactly what the walk that explains a refusal accepts

#: strings with what XML forbids (NUL, a C0 control, a lone surrogate, U+FFFF) among allowed ones
_TEXT = st.text(alphabet=st.sampled_from(["a", "é", "\t", "\n", "\x00", "\x07", "\ud800", "\uffff"]), max_size=9)
_KEYS = st.one_of(_TEXT, st.integers(-3, 3))
_JUNK = st.one_of(st.none(), st.integers(-3, 3), _TEXT, st.lists(st.integers(0, 3), max_size=3),
                  st.dictionaries(_TEXT, _TEXT, max_size=2), st.binary(max_size=3), st.tuples(_TEXT))
_SIGNATURES = st.recursive(
    st.sampled_from(["s", "o", "g", "i", "b", "d", "y", "v"]),
    lambda inner: st.one_of(
        inner.map(lambda item: "a" + item),
        st.tuples(st.sampled_from(["s", "i"]), inner).map(lambda entry: "a{%s%s}" % entry),
        st.lists(inner, min_size=1, max_size=3).map(lambda fields: "(" + "".join(fields) + ")"),
    ),
    max_leaves=5,
)


@st.composite
def _value_for(draw: st.DrawFn, kind: SignatureType) -> Any:
    """A value of ``kind``, or now and then one of another type (which D-Bus never passes,
    but the checks must still refuse rather than fail)."""
    if draw(st.integers(0, 7)) == 0:
        return draw(_JUNK)
    token = kind.token
    if token in "sog":
        return draw(_TEXT)
    if token == "a":
        item = kind.children[0]
        if item.token == "{":
            return draw(st.dictionaries(_KEYS, _value_for(item.children[1]), max_size=4))
        if item.token == "y":
            return draw(st.binary(max_size=5))
        return draw(st.lists(_value_for(item), max_size=4))
    if token == "(":
        fields = [draw(_value_for(child)) for child in kind.children]
        extra = draw(st.sampled_from([0, 0, 0, 1, -1]))  # a field too many or too few, now and then
        return tuple(fields + [0] if extra > 0 else fields[:extra] if extra < 0 else fields)
    if token == "v":
        return Variant(*draw(st.one_of(st.tuples(st.just("s"), _TEXT), st.tuples(st.just("as"), st.lists(_TEXT, max_size=4)))))
    return draw(st.integers(-3, 3))


@st.composite
def _calls(draw: st.DrawFn) -> tuple[Method, tuple[Any, ...]]:
    signatures = draw(st.lists(_SIGNATURES, min_size=1, max_size=3))
    method = Method("Fuzzed", "plugin", tuple(
        Arg(f"a{index}", signature, max_length=draw(st.sampled_from([None, 0, 2, 5])))
        for index, signature in enumerate(signatures)
    ), "", "fuzzed")
    return method, tuple(draw(_value_for(get_signature_tree(signature).types[0])) for signature in signatures)


def _one_argument(signature: str, value: Any) -> tuple[Method, tuple[Any, ...]]:
    return Method("Fuzzed", "plugin", (Arg("a0", signature),), "", "fuzzed"), (value,)


#: values on either side of each rule (bounds as patched below: 6 characters a string,
#: 3 entries, 12 in all)
_EDGES = [
    _one_argument("(is)", (1, "ab")), _one_argument("(is)", (1, "ab", 2)), _one_argument("(is)", (1,)),
    _one_argument("a{ss}", {"abc": "def", "gh": "i"}), _one_argument("a{ss}", {"abc": "def", "gh": "ij"}),
    _one_argument("as", ["abcdef", "ghi"]), _one_argument("as", ["abcdef", "ghij"]),
    _one_argument("as", ["a", "b", "c"]), _one_argument("as", ["a", "b", "c", "d"]),
    _one_argument("a{ss}", dict.fromkeys("abc", "")), _one_argument("a{ss}", dict.fromkeys("abcd", "")),
    _one_argument("ay", b"abc"), _one_argument("ay", b"abcd"), _one_argument("ay", "abc"),
    _one_argument("av", [Variant("s", "abcdef"), Variant("s", "abcd")]),
    _one_argument("av", [Variant("s", "abcdef"), Variant("s", "abcde")]),
    _one_argument("v", "not a variant"), _one_argument("a(iv)", [(1, 2)] * 3),
    _one_argument("s", "abc\x00"), _one_argument("s", "abcdefg"), _one_argument("s", b"abc"),
]


@pytest.mark.parametrize("call", _EDGES)
def test_compiled_checks_accept_what_the_walk_accepts_at_the_edges(call: tuple[Method, tuple[Any, ...]]) -> None:
    _compiled_checks_agree_with_the_walk(*call)


@settings(max_examples=600, deadline=None)
@given(_calls())
def test_compiled_checks_accept_what_the_walk_accepts(call: tuple[Method, tuple[Any, ...]]) -> None:
    """Small bounds, so that random values cross them: the per-string bound, entries per
    array, the total per argument, and characters XML forbids."""
    _compiled_checks_agree_with_the_walk(*call)


def _compiled_checks_agree_with_the_walk(method: Method, args: tuple[Any, ...]) -> None:
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(arguments, "MAX_STRING", 6)
        patched.setattr(arguments, "MAX_ITEMS", 3)
        patched.setattr(arguments, "MAX_TOTAL", 12)
        try:
            arguments.explain_refusal(method, args)
            walked = True
        except errors.InvalidArgument:
            walked = False
        assert arguments.arguments_fit(method, args) is walked
        if walked:  # and they count the same: each argument's characters and entries
            for spec_arg, check, value in zip(method.args, arguments._method_checks(method), args):
                walk = arguments._ArgumentWalk(method, spec_arg)
                walk.walk("", get_signature_tree(spec_arg.signature).types[0], value)
                assert check(value) == walk.total
        else:
            with pytest.raises(errors.InvalidArgument, match="^Fuzzed: "):
                arguments.check_arguments(method, args)
