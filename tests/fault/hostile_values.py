"""Targeted values for string arguments, chosen by what the spec says the argument is.

The argument's name says its kind (``profile``, ``*jid``/``service``, ``*_json``,
``*_xml``) and its doc lists literal values (between double backquotes): from these the
fuzz draws valid values (so that a call goes past the first check) and hostile ones
(huge, XML-forbidden characters, bad JIDs, unknown profiles, malformed/deep/surrogate
JSON, hostile XML). :func:`kind_of` names the hostile kind a value belongs to, for the report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from sat_bridge.spec import Arg

#: characters XML 1.0 forbids that D-Bus can carry (NUL cannot: the D-Bus wire format
#: forbids it in strings and dbus-fast refuses to marshal it, so it only comes as ``\\u0000``
#: inside JSON); lone surrogates cannot be UTF-8 encoded either: they come as JSON escapes
XML_FORBIDDEN = [chr(code) for code in (*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))] + ["\ufffe", "\uffff"]
HUGE_STRING = "h" * 300_000
#: JSON nesting far beyond Python's recursion limit
DEEP_LEVELS = 10_000
DEEP_JSON_ARRAY = "[" * DEEP_LEVELS + "]" * DEEP_LEVELS
DEEP_JSON_OBJECT = '{"a":' * DEEP_LEVELS + "1" + "}" * DEEP_LEVELS
MALFORMED_JSON = ["{bad json", "", "[1]", "null", '"text"', "1e999", "{\"a\": NaN}", "{}{}", "{\"a\":1,}"]
BAD_JIDS = [
    "bad jid@@", "@", "a@b@c", "user@", "@localhost", "/resource", "user@localhost/", "a" * 1100 + "@localhost",
    "user@[::1", "us er@local host", "user@-bad-.example", "..", "user@localhost\u202e",
]
UNKNOWN_PROFILES = ["ghost", "Ghost-profile", "a/b", " ", "p" * 65]
HOSTILE_XML = {
    "xml-malformed": "<unclosed>",
    "xml-not-one-element": "<a/><b/>",
    "xml-text-only": "just text",
    "xml-deep": "<a>" * 3000 + "</a>" * 3000,
    "xml-forbidden-charref": "<a xmlns='urn:fuzz'>&#7;</a>",
    "xml-entity-bomb": (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]><l>&d;&d;&d;</l>'
    ),
    "xml-external-entity": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x xmlns="urn:fuzz">&e;</x>',
    "xml-stream-element": "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>",
}
VALID_XML = ["<entry xmlns='http://www.w3.org/2005/Atom'><title>t</title></entry>", "<x xmlns='urn:fuzz'>v</x>"]
_DOC_LITERAL = re.compile(r"``([^`]{0,60})``")
_DOC_KEY = re.compile(r'"([A-Za-z_#][\w#-]{0,40})"|``([a-z_#][\w#-]{0,40})``')


@dataclass
class FuzzContext:
    """What makes a value valid on this target: the profile to use, JIDs that exist, and
    strings earlier successful calls returned (uids, node names, item ids)."""

    profile: str
    jids: list[str]
    known: list[str] = field(default_factory=list)


def is_profile(arg: Arg) -> bool:
    return arg.name == "profile"


def is_jid(arg: Arg) -> bool:
    return arg.name.endswith("jid") or arg.name in ("service", "entity")


def is_json(arg: Arg) -> bool:
    return arg.name.endswith("_json")


def is_xml(arg: Arg) -> bool:
    return arg.name.endswith("_xml")


def doc_literals(arg: Arg) -> list[str]:
    """Literal values the doc of ``arg`` names, e.g. ``chat``, ``Connection``, ``""``."""
    literals = {text.strip('"') for text in _DOC_LITERAL.findall(arg.doc)}
    return sorted(literal for literal in literals if "…" not in literal)


def doc_keys(arg: Arg) -> list[str]:
    """Keys a JSON argument's doc mentions (``"body"``, ``rsm_max``…)."""
    return sorted({quoted or literal for quoted, literal in _DOC_KEY.findall(arg.doc)})


def safe_text(max_size: int = 30) -> st.SearchStrategy[str]:
    """Random Unicode text D-Bus can carry (no NUL, no lone surrogate)."""
    return st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=max_size)


def forbidden_text() -> st.SearchStrategy[str]:
    """Text with one character XML 1.0 forbids somewhere in it."""
    return st.builds(lambda a, c, b: a + c + b, safe_text(8), st.sampled_from(XML_FORBIDDEN), safe_text(8))


def valid_string(arg: Arg, context: FuzzContext) -> st.SearchStrategy[str]:
    """A value the spec calls valid for ``arg`` (the call should go past argument checks)."""
    if is_profile(arg):
        return st.just(context.profile)
    if is_jid(arg):
        return st.sampled_from(["", *context.jids] if "" in doc_literals(arg) else context.jids)
    if is_json(arg):
        return json_object(arg, st.sampled_from(["", "x", "chat", *context.jids[:2]]))
    if is_xml(arg):
        return st.sampled_from(VALID_XML)
    return st.sampled_from(sorted({*doc_literals(arg), "", "fuzz", *context.known}))


def hostile_string(arg: Arg, context: FuzzContext) -> st.SearchStrategy[str]:
    """A hostile or random value for ``arg``, targeted at its kind."""
    common: list[st.SearchStrategy[str]] = [safe_text(), forbidden_text(), st.sampled_from([HUGE_STRING, " ", "x" * 2000])]
    if is_profile(arg):
        common.append(st.sampled_from(UNKNOWN_PROFILES))
    if is_jid(arg):
        common.append(st.sampled_from(BAD_JIDS))
    if is_json(arg):
        keys = doc_keys(arg) or ["a"]
        common += [
            st.sampled_from([*MALFORMED_JSON, DEEP_JSON_ARRAY, DEEP_JSON_OBJECT]),
            st.builds(lambda key, escape: json.dumps({key: "x"}).replace('"x"', f'"{escape}"'),
                      st.sampled_from(keys), st.sampled_from(["\\ud800", "\\udfff", "\\u0000", "\\u0007", "\\uffff"])),
            st.builds(lambda key: f"{{{json.dumps(key)}: {DEEP_JSON_ARRAY}}}", st.sampled_from(keys)),
            json_object(arg, st.one_of(safe_text(), forbidden_text())),
        ]
    if is_xml(arg):
        common.append(st.sampled_from(sorted(HOSTILE_XML.values())))
    return st.one_of(common)


def json_object(arg: Arg, text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A JSON object built from the keys the doc of ``arg`` names, with values of any JSON type."""
    scalars = st.one_of(text, st.integers(-(2**63), 2**63), st.booleans(), st.none(), st.floats(allow_nan=False))
    values = st.one_of(scalars, st.lists(text, max_size=3), st.dictionaries(text, scalars, max_size=2))
    return st.dictionaries(st.sampled_from(doc_keys(arg) or ["a"]), values, max_size=3).map(json.dumps)


def kind_of(arg: Arg, value: Any) -> str:
    """Short name of what is hostile in ``value`` (``huge``, ``xml-forbidden``, ``json-deep``…)."""
    strings = list(_strings(value))
    if any(len(text) >= len(HUGE_STRING) for text in strings):
        return "huge-string"
    if any(re.search("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", text) for text in strings):
        return "xml-forbidden-char"
    if isinstance(value, str):
        return _string_kind(arg, value)
    return f"random-{arg.signature}"


def _string_kind(arg: Arg, value: str) -> str:
    if is_profile(arg) and value in UNKNOWN_PROFILES:
        return "unknown-profile"
    if is_jid(arg) and value in BAD_JIDS:
        return "bad-jid"
    for name, xml in HOSTILE_XML.items():
        if value == xml:
            return name
    if is_json(arg):
        if value in (DEEP_JSON_ARRAY, DEEP_JSON_OBJECT) or value.count("[") > 100:
            return "json-deep"
        if "\\ud" in value:
            return "json-lone-surrogate"
        if "\\u00" in value or "\\uffff" in value:
            return "json-forbidden-escape"
        try:
            json.loads(value)
        except ValueError:
            return "json-malformed"
        return "json-random"
    return "random-text"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (*_strings(key), *_strings(item))]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _strings(item)]
    inner = getattr(value, "value", None)
    return _strings(inner) if inner is not None else []
