"""Well-typed random values for any D-Bus signature, with the edges of each type.

Built from dbus-fast's signature tree, so any type a new bridge member declares (nested
arrays, dicts, structs, variants) gets values without new code. ``text`` is the strategy
used for every string inside the value: the caller makes it hostile.
"""

from __future__ import annotations

from typing import Any, Callable

from dbus_fast import Variant
from dbus_fast.signature import SignatureType, get_signature_tree
from hypothesis import strategies as st

TextStrategy = st.SearchStrategy[str]

#: at most this many elements in a generated array or dict (calls stay small and fast)
MAX_ELEMENTS = 4
#: simple types a variant may carry
VARIANT_SIGNATURES = ("s", "b", "i", "x", "d", "as", "a{ss}")


def _integers(bits: int, signed: bool) -> st.SearchStrategy[int]:
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    edges = sorted({low, high, 0, 1, -1 if signed else 2, low + 1, high - 1})
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


_SCALARS: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "b": st.booleans,
    "y": lambda: _integers(8, False),
    "n": lambda: _integers(16, True),
    "q": lambda: _integers(16, False),
    "i": lambda: _integers(32, True),
    "u": lambda: _integers(32, False),
    "x": lambda: _integers(64, True),
    "t": lambda: _integers(64, False),
    "d": lambda: st.floats(allow_nan=True, allow_infinity=True),
    "o": lambda: st.sampled_from(["/", "/org/salutatoi/SAT1/bridge", "/a/b_9"]),
    "g": lambda: st.sampled_from(["", "s", "a{sv}", "(sia{ss})"]),
}


def values_for(signature: str, text: TextStrategy) -> st.SearchStrategy[Any]:
    """Values of the single complete type ``signature``; strings drawn from ``text``."""
    return _values(get_signature_tree(signature).types[0], text)


def _values(node: SignatureType, text: TextStrategy) -> st.SearchStrategy[Any]:
    token = node.token
    if token == "s":
        return text
    if token in _SCALARS:
        return _SCALARS[token]()
    if token == "v":
        return st.sampled_from(VARIANT_SIGNATURES).flatmap(
            lambda inner: values_for(inner, text).map(lambda value: Variant(inner, value))
        )
    if token == "(":
        return st.tuples(*(_values(child, text) for child in node.children)).map(list)
    if token == "a":
        child = node.children[0]
        if child.token == "{":
            key, value = child.children
            return st.dictionaries(_values(key, text), _values(value, text), max_size=MAX_ELEMENTS)
        return st.lists(_values(child, text), max_size=MAX_ELEMENTS)
    raise ValueError(f"no value strategy for D-Bus type {node.signature!r} (h: file descriptors are not fuzzed)")


def other_signature(signature: str) -> str:
    """A complete type different from ``signature``, for wrong-type calls."""
    return {"s": "i", "b": "s", "i": "s", "u": "s", "x": "s", "t": "s", "d": "s"}.get(signature, "s")
