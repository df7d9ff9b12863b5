"""The ``*_json`` arguments of bridge methods: a JSON object, checked once, the same way."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sat_backend.core.exceptions import InvalidArgument


def parse_json_object(text: str, argument: str, known_keys: Iterable[str] | None = None) -> dict[str, Any]:
    """Decode ``text`` (``""`` = ``{}``) as a JSON object.

    :param argument: the argument's name, for the error message.
    :param known_keys: when given, any other key is refused.
    :raises InvalidArgument: not JSON, not an object, or an unknown key.
    """
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"{argument} is not valid JSON: {exc}") from None
    return checked_object(value, argument, known_keys)


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
