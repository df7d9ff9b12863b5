"""Calls to fuzz a bridge method with, generated from its spec alone.

A call is either well typed (every argument valid but at most one, which is hostile:
so the report can say which argument kind triggers a failure) or malformed on the wire
(wrong arity, one argument of another type): what only a raw D-Bus client can send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from sat_bridge.spec import Arg, Method
from tests.fault.hostile_values import FuzzContext, hostile_string, kind_of, safe_text, valid_string
from tests.fault.signature_values import other_signature, values_for

#: strings inside container arguments when the argument is meant to be valid
_VALID_INNER = st.sampled_from(["", "en", "fuzz", "hello", "fuzz@localhost"])


@dataclass(frozen=True)
class Call:
    """What goes on the wire, and a label naming what is wrong with it (``valid`` if nothing)."""

    signature: str
    body: tuple[Any, ...]
    label: str


def well_typed_calls(method: Method, context: FuzzContext) -> st.SearchStrategy[Call]:
    """Calls with the spec's signature: all arguments valid, or one of them hostile."""
    if not method.args:
        return st.just(Call("", (), "valid"))
    targets = st.sampled_from([None, *range(len(method.args))])
    return targets.flatmap(lambda target: _call_with_hostile(method, context, target))


def _call_with_hostile(method: Method, context: FuzzContext, target: int | None) -> st.SearchStrategy[Call]:
    values = [
        _hostile(arg, context) if index == target else _valid(arg, context)
        for index, arg in enumerate(method.args)
    ]

    def label(body: tuple[Any, ...]) -> str:
        if target is None:
            return "valid"
        arg = method.args[target]
        return f"{arg.name}:{kind_of(arg, body[target])}"

    return st.tuples(*values).map(lambda body: Call(method.in_signature, body, label(body)))


def _valid(arg: Arg, context: FuzzContext) -> st.SearchStrategy[Any]:
    if arg.signature == "s":
        return valid_string(arg, context)
    return values_for(arg.signature, _VALID_INNER)


def _hostile(arg: Arg, context: FuzzContext) -> st.SearchStrategy[Any]:
    if arg.signature == "s":
        return hostile_string(arg, context)
    inner = st.one_of(safe_text(), hostile_string(Arg("text", "s"), context))
    return values_for(arg.signature, inner)


def malformed_calls(method: Method, context: FuzzContext) -> st.SearchStrategy[Call]:
    """Calls whose signature is not the spec's: one argument missing, one too many, or one
    of another type."""
    valid = st.tuples(*(_valid(arg, context) for arg in method.args))
    shapes: list[st.SearchStrategy[Call]] = [
        valid.map(lambda body: Call(method.in_signature + "s", (*body, "extra"), "arity:+1")),
    ]
    if method.args:
        shapes.append(valid.map(lambda body: Call(method.in_signature[: -len(method.args[-1].signature)],
                                                  body[:-1], "arity:-1")))
        shapes.append(st.sampled_from(range(len(method.args))).flatmap(lambda index: _retyped(method, context, index)))
    return st.one_of(shapes)


def _retyped(method: Method, context: FuzzContext, index: int) -> st.SearchStrategy[Call]:
    arg = method.args[index]
    wrong = other_signature(arg.signature)
    signature = "".join(wrong if i == index else a.signature for i, a in enumerate(method.args))
    values = [values_for(wrong, safe_text()) if i == index else _valid(a, context) for i, a in enumerate(method.args)]
    return st.tuples(*values).map(lambda body: Call(signature, body, f"type:{arg.name} as {wrong}"))
