"""The targeted sweep: every known hostile value in every argument it fits, once.

Random generation may miss a rare value for a member with many arguments (a 10,000-level
JSON in the fifth argument); the sweep does not: for each argument it sends each hostile
value of that argument's kind, with every other argument at a plain valid value, so a
failure names exactly the argument and the kind of value behind it.
"""

from __future__ import annotations

import json
from typing import Any

from dbus_fast.signature import get_signature_tree

from sat_bridge.spec import Arg, Method
from tests.fault.calls import Call
from tests.fault.hostile_values import (
    BAD_JIDS, DEEP_JSON_ARRAY, DEEP_JSON_OBJECT, HOSTILE_XML, HUGE_STRING, MALFORMED_JSON, UNKNOWN_PROFILES,
    VALID_XML, FuzzContext, doc_keys, doc_literals, is_jid, is_json, is_profile, is_xml, kind_of,
)

#: one of each family of characters XML 1.0 forbids (C0 control, another, a noncharacter)
FORBIDDEN_SAMPLES = ("bell\x07", "esc\x1b[0m", "x\ufffey")
#: escapes a JSON text may carry that decode to what XML or UTF-8 cannot hold
JSON_ESCAPES = ("\\ud800", "\\u0000", "\\u0007", "\\uffff")
#: integers at the edges of ``i``
INT32_EDGES = (-1, -(2**31), 2**31 - 1)


def plain_value(arg: Arg, context: FuzzContext) -> Any:
    """A plain valid value for ``arg``: what every other argument carries in the sweep."""
    if arg.signature != "s":
        return {"as": [], "a{ss}": {"": "hello"}, "b": False, "i": 0}.get(arg.signature, _zero(arg.signature))
    if is_profile(arg):
        return context.profile
    if is_jid(arg):
        # "" where the doc allows it: the profile's own service, where the fuzz may create nodes
        return "" if "" in doc_literals(arg) else context.jids[0]
    if is_json(arg):
        return "{}"
    if is_xml(arg):
        return VALID_XML[0]
    literals = [literal for literal in doc_literals(arg) if literal]
    return literals[0] if literals else "fuzz"


def _zero(signature: str) -> Any:
    node = get_signature_tree(signature).types[0]
    if node.token == "a" and node.children[0].token == "{":
        return {}  # a dict (``a{sas}``): a list cannot be marshalled as one
    return {"a": [], "(": [], "d": 0.0}.get(node.token, 0)


def hostile_values(arg: Arg) -> list[Any]:
    """Every targeted hostile value that fits ``arg``'s type and kind."""
    if arg.signature == "i":
        return list(INT32_EDGES)
    if arg.signature == "as":
        return [[text] for text in (*FORBIDDEN_SAMPLES, HUGE_STRING)]
    if arg.signature == "a{ss}":
        return [{"": text} for text in (*FORBIDDEN_SAMPLES, HUGE_STRING)] + [{FORBIDDEN_SAMPLES[0]: "x"}]
    if arg.signature != "s":
        return []
    values: list[Any] = [*FORBIDDEN_SAMPLES, HUGE_STRING]
    if is_profile(arg):
        values += UNKNOWN_PROFILES[:2]
    if is_jid(arg):
        values += BAD_JIDS
    if is_json(arg):
        values += [*MALFORMED_JSON, DEEP_JSON_ARRAY, DEEP_JSON_OBJECT]
        for key in doc_keys(arg) or ["a"]:
            values += [f"{{{json.dumps(key)}: \"{escape}\"}}" for escape in JSON_ESCAPES]
            values.append(f"{{{json.dumps(key)}: {DEEP_JSON_ARRAY}}}")
    if is_xml(arg):
        values += list(HOSTILE_XML.values())
    return values


def sweep_calls(method: Method, context: FuzzContext) -> list[Call]:
    """One call per (argument, hostile value), every other argument plain and valid."""
    plain = [plain_value(arg, context) for arg in method.args]
    calls = [Call(method.in_signature, tuple(plain), "valid")]
    for index, arg in enumerate(method.args):
        for value in hostile_values(arg):
            body = tuple(value if i == index else plain[i] for i in range(len(plain)))
            calls.append(Call(method.in_signature, body, f"{arg.name}:{kind_of(arg, value)}"))
    return calls
