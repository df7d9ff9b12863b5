"""What every bridge call's arguments must respect before any implementation runs.

One walk over each argument, following its D-Bus signature, checks three things for
every member, so that no member can forget them:

- each string is at most the argument's ``max_length`` (default :data:`MAX_STRING`,
  256 KiB: Prosody drops stanzas over ~256 KiB, and a huge value echoed back in an error
  reply once knocked the daemon off the bus);
- each array or dict has at most :data:`MAX_ITEMS` entries, and the whole argument
  holds at most :data:`MAX_TOTAL` characters and entries;
- each string, secrets and dict keys included, has only characters XML 1.0 allows
  (:mod:`sat_bridge.xml_text`): text with others kills the XMPP stream once sent.

Errors are :class:`~sat_bridge.errors.InvalidArgument` naming the argument (and where in
it) and the bound, never the value.
"""

from __future__ import annotations

from typing import Any

from dbus_fast import Variant
from dbus_fast.signature import SignatureType, get_signature_tree

from sat_bridge.errors import InvalidArgument
from sat_bridge.spec import Arg, Method
from sat_bridge.xml_text import check_xml_text

#: default bound of one string argument (or string inside one), in characters
MAX_STRING = 256 * 1024
#: entries of one array or dict
MAX_ITEMS = 10_000
#: characters of every string plus every entry, in one argument
MAX_TOTAL = 1024 * 1024


def check_arguments(method: Method, args: tuple[Any, ...]) -> None:
    """Check every argument of a call to ``method`` against its spec.

    :raises InvalidArgument: a bound is exceeded or a string has a character XML forbids.
    """
    for spec_arg, value in zip(method.args, args):
        _ArgumentWalk(method, spec_arg).walk(f"argument {spec_arg.name!r}", _signature_type(spec_arg.signature), value)


def _signature_type(signature: str) -> SignatureType:
    return get_signature_tree(signature).types[0]  # type: ignore[no-any-return]


class _ArgumentWalk:
    """The walk of one argument, counting its total size as it goes."""

    def __init__(self, method: Method, spec_arg: Arg) -> None:
        self.method = method
        self.max_length = spec_arg.max_length if spec_arg.max_length is not None else MAX_STRING
        self.total = 0
        self.argument = spec_arg.name

    def refuse(self, text: str) -> InvalidArgument:
        return InvalidArgument(f"{self.method.name}: {text}")

    def count(self, amount: int) -> None:
        self.total += amount
        if self.total > MAX_TOTAL:
            raise self.refuse(f"argument {self.argument!r} is larger than {MAX_TOTAL} characters and entries in all")

    def walk(self, where: str, kind: SignatureType, value: Any) -> None:
        token = kind.token
        if token in "sog":
            self.string(where, value)
        elif token == "a":
            self.array(where, kind.children[0], value)
        elif token == "(":
            if not isinstance(value, (list, tuple)) or len(value) != len(kind.children):
                raise self.refuse(f"{where} must be a struct of {len(kind.children)} fields")
            for index, (field_kind, field) in enumerate(zip(kind.children, value)):
                self.walk(f"{where}.{index}", field_kind, field)
        elif token == "v" and isinstance(value, Variant):
            self.walk(where, _signature_type(value.signature), value.value)
        else:
            self.count(1)  # numbers, booleans: D-Bus checked their type and range

    def string(self, where: str, value: Any) -> None:
        if not isinstance(value, str):
            raise self.refuse(f"{where} must be a string")
        if len(value) > self.max_length:
            raise self.refuse(f"{where} is longer than {self.max_length} characters")
        self.count(len(value))
        check_xml_text(value, f"{self.method.name}: {where}")

    def array(self, where: str, item_kind: SignatureType, value: Any) -> None:
        token = item_kind.token
        if token == "{":
            if not isinstance(value, dict):
                raise self.refuse(f"{where} must be a dict")
            self.entries(where, len(value))
            key_kind, value_kind = item_kind.children
            for index, (key, item) in enumerate(value.items()):
                self.walk(f"{where} key #{index}", key_kind, key)
                self.walk(f"{where} value #{index}", value_kind, item)
        elif token == "y":  # a byte array is data, not text
            if not isinstance(value, (bytes, bytearray, list)):
                raise self.refuse(f"{where} must be an array of bytes")
            self.entries(where, len(value))
        else:
            if not isinstance(value, (list, tuple)):
                raise self.refuse(f"{where} must be an array")
            self.entries(where, len(value))
            for index, item in enumerate(value):
                self.walk(f"{where}[{index}]", item_kind, item)

    def entries(self, where: str, count: int) -> None:
        if count > MAX_ITEMS:
            raise self.refuse(f"{where} has more than {MAX_ITEMS} entries")
        self.count(count)
