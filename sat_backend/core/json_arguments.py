"""The ``*_json`` arguments of bridge methods: a JSON object, checked once, the same way.

Every such argument is decoded here, so that hostile JSON gets one answer,
``InvalidArgument``, whichever member it is sent to: too long, nested deeper than
:data:`MAX_DEPTH` (deep nesting once raised RecursionError, an ``Internal``), with
``NaN``/``Infinity``, or with a string (key or value) holding a character XML forbids,
lone surrogates included (they once raised UnicodeEncodeError when stored or sent).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NoReturn

from sat_backend.core.exceptions import InvalidArgument
from sat_bridge.xml_text import describe_forbidden, forbidden_xml_char

#: levels of arrays and objects a JSON argument may nest (the argument itself is level 1)
MAX_DEPTH = 32
#: characters of one JSON argument (the bridge's bound for any string argument)
MAX_LENGTH = 256 * 1024


def parse_json_object(text: str, argument: str, known_keys: Iterable[str] | None = None) -> dict[str, Any]:
    """Decode ``text`` (``""`` = ``{}``) as a JSON object.

    :param argument: the argument's name, for the error message.
    :param known_keys: when given, any other key is refused.
    :raises InvalidArgument: not JSON, not an object, an unknown key, or hostile JSON
        (see the module's docstring).
    """
    if not text.strip():
        return {}
    if len(text) > MAX_LENGTH:
        raise InvalidArgument(f"{argument} is longer than {MAX_LENGTH} characters")
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        _too_deep(argument)
    except ValueError as exc:
        raise InvalidArgument(f"{argument} is not valid JSON: {exc}") from None
    check_json_value(value, argument)
    return checked_object(value, argument, known_keys)


def check_json_value(value: Any, argument: str) -> None:
    """Refuse a decoded value nested deeper than :data:`MAX_DEPTH` or holding a string that
    XML forbids; iterative, so that the check itself never recurses.

    :raises InvalidArgument: naming ``argument`` and the character's position, never the text.
    """
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, str):
            _check_string(current, argument)
        elif isinstance(current, (dict, list)):
            if depth > MAX_DEPTH:
                _too_deep(argument)
            if isinstance(current, dict):
                for key, item in current.items():
                    _check_string(key, argument)
                    pending.append((item, depth + 1))
            else:
                pending.extend((item, depth + 1) for item in current)


def _check_string(text: str, argument: str) -> None:
    index = forbidden_xml_char(text)
    if index is not None:
        raise InvalidArgument(
            f"a string in {argument} contains a character XML does not allow ({describe_forbidden(text, index)})"
        )


def _too_deep(argument: str) -> NoReturn:
    raise InvalidArgument(f"{argument} nests deeper than {MAX_DEPTH} levels") from None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number: numbers must be finite")


#: built once: ``json.loads`` with a keyword argument builds a decoder (and its scanner) at
#: every call, several times the decoding of a short argument such as ``"{}"`` (issue 14)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def checked_object(
    value: Any, argument: str, known_keys: Iterable[str] | None = None, *, expected: str = "a JSON object"
) -> dict[str, Any]:
    """``value`` if it is an object with no key but ``known_keys`` (when given): the check
    of a decoded argument, or of an object nested in one.

    :param expected: what the message says ``argument`` must be.
    :raises InvalidArgument: not an object, or an unknown key.
    """
    if not isinstance(value, dict):
        raise InvalidArgument(f"{argument} must be {expected}")
    if known_keys is not None:
        known = list(known_keys)
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise InvalidArgument(f"{argument}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return value


def string_list(values: dict[str, Any], key: str, label: str | None = None) -> tuple[str, ...]:
    """``values[key]`` as a tuple of strings (absent = empty).

    :raises InvalidArgument: not a list of strings.
    """
    value = values.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidArgument(f"{label or key} must be a list of strings")
    return tuple(value)


def optional_timestamp(values: dict[str, Any], key: str, label: str | None = None) -> float | None:
    """``values[key]`` as seconds since the epoch, or None when absent.

    :raises InvalidArgument: not a number (booleans are not numbers here).
    """
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(f"{label or key} must be a timestamp (seconds since the epoch)")
    return float(value)
