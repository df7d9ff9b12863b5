"""Hostile ``*_json`` arguments get InvalidArgument, never a RecursionError or a
UnicodeEncodeError later on (sat_backend.core.json_arguments)."""

from __future__ import annotations

import json

import pytest

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.json_arguments import MAX_DEPTH, MAX_LENGTH, parse_json_object


def _nested(depth: int) -> str:
    """An object whose innermost list is ``depth`` levels deep (the object is level 1)."""
    return json.dumps({"a": json.loads("[" * (depth - 1) + "1" + "]" * (depth - 1))})


def test_nesting_up_to_the_bound_is_accepted() -> None:
    assert parse_json_object(_nested(MAX_DEPTH), "extra_json")["a"]


@pytest.mark.parametrize("text", [_nested(MAX_DEPTH + 1), "[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000])
def test_deeper_nesting_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_json_object(text, "filters_json")
    assert caught.value.message == f"filters_json nests deeper than {MAX_DEPTH} levels"


@pytest.mark.parametrize(
    ("text", "character"),
    [('{"body": "\\ud800"}', "U+D800"), ('{"x": ["ok", "\\u0007"]}', "U+0007"), ('{"\\uffff": 1}', "U+FFFF")],
)
def test_strings_xml_forbids_are_refused(text: str, character: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_json_object(text, "options_json")
    assert caught.value.message == (
        f"a string in options_json contains a character XML does not allow ({character} at position 0)"
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(constant: str) -> None:
    with pytest.raises(InvalidArgument, match="finite"):
        parse_json_object(f'{{"a": {constant}}}', "extra_json")


def test_the_length_is_bounded() -> None:
    with pytest.raises(InvalidArgument, match=f"longer than {MAX_LENGTH} characters"):
        parse_json_object(json.dumps({"a": "x" * MAX_LENGTH}), "data_json")
