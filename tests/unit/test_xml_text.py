"""The XML 1.0 character rule shared by the bridge and the backend."""

from __future__ import annotations

import pytest

from sat_bridge.errors import InvalidArgument
from sat_bridge.xml_text import check_xml_text, forbidden_xml_char


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"])
def test_forbidden_characters_are_found(char: str) -> None:
    assert forbidden_xml_char(f"ab{char}c") == 2


@pytest.mark.parametrize("text", ["", "plain", "tab\tnl\ncr\r", "é😀\ufffd\ue000", "\U0010ffff"])
def test_allowed_text_passes(text: str) -> None:
    assert forbidden_xml_char(text) is None
    assert check_xml_text(text, "body") == text


def test_error_names_the_character_not_the_value() -> None:
    secret = "x" * 10_000 + "\x07"
    with pytest.raises(InvalidArgument) as caught:
        check_xml_text(secret, "status")
    message = str(caught.value)
    assert "status" in message and "U+0007" in message and "10000" in message
    assert "xxxx" not in message
