"""What XML 1.0 allows in text: the one definition every layer checks against.

A string that reaches a stanza with a character XML 1.0 forbids (C0 controls other than
tab, line feed and carriage return; lone surrogates; U+FFFE and U+FFFF) makes the server
close the stream. Stored, such a value is sent again at every login, so it must be refused
before anything is stored or sent. The bridge checks every string argument with this, the
backend checks again where text enters a stanza (plugins and stored values bypass the
bridge).
"""

from __future__ import annotations

import re

from sat_bridge.errors import InvalidArgument

#: XML 1.0 §2.2 ``Char``, negated: what may never appear in a document
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def forbidden_xml_char(text: str) -> int | None:
    """Index of the first character XML 1.0 forbids in ``text``, or None when it is clean."""
    match = _FORBIDDEN.search(text)
    return match.start() if match is not None else None


def describe_forbidden(text: str, index: int) -> str:
    """``U+0007 at position 4``: names the character without echoing the text around it."""
    return f"U+{ord(text[index]):04X} at position {index}"


def check_xml_text(value: str, what: str) -> str:
    """``value`` if XML 1.0 allows every character of it.

    :param what: names the value in the error (an argument, a field of a form…).
    :raises InvalidArgument: a forbidden character; the message names it and its
        position, never the value itself (it may be huge or secret).
    """
    index = forbidden_xml_char(value)
    if index is not None:
        raise InvalidArgument(
            f"{what} contains a character XML does not allow ({describe_forbidden(value, index)})"
        )
    return value
