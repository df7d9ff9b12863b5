"""Shared by the unit tests that check text XML 1.0 cannot carry is refused by a
backend API itself, before it touches anything."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest

from sat_backend.core.exceptions import InvalidArgument


class UntouchableHost:
    """Any use means the check came too late (a profile resolved, a request built…)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the host was reached ({name}) before the text was checked")


def refused(call: Callable[[], Awaitable[Any]], what: str, secret: str, *, json_argument_too: bool = False) -> None:
    """``call`` raises ``InvalidArgument`` naming ``what`` and the XML rule, never ``secret``.

    :param json_argument_too: also accept the JSON decoder's refusal, which names the
        ``*_json`` argument holding the string instead of its field.
    """
    with pytest.raises(InvalidArgument) as raised:
        asyncio.run(call())  # type: ignore[arg-type]
    message = str(raised.value)
    named = message.startswith(what) or (json_argument_too and message.startswith("a string in "))
    assert named and "XML does not allow" in message, message
    assert secret not in message
