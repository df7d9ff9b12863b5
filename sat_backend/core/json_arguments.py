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
    if not isinstance(value, dict):
        raise InvalidArgument(f"{argument} must be a JSON object")
    if known_keys is not None:
        known = list(known_keys)
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise InvalidArgument(f"{argument}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return value
