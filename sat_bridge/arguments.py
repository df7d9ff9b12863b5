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

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from dbus_fast import Variant
from dbus_fast.signature import SignatureType, get_signature_tree

from sat_bridge.errors import InvalidArgument
from sat_bridge.spec import Arg, Method
from sat_bridge.xml_text import check_xml_text, forbidden_xml_char

#: default bound of one string argument (or string inside one), in characters
MAX_STRING = 256 * 1024
#: entries of one array or dict
MAX_ITEMS = 10_000
#: characters of every string plus every entry, in one argument
MAX_TOTAL = 1024 * 1024
#: variant signatures whose check is kept compiled (a caller may send any number)
VARIANT_CHECKS_KEPT = 256

#: the size of one value as the walk counts it (characters and entries), or
#: :class:`_Refused` when a type or bound is broken
SizeCheck = Callable[[Any], int]


def check_arguments(method: Method, args: tuple[Any, ...]) -> None:
    """Check every argument of a call to ``method`` against its spec.

    :raises InvalidArgument: a bound is exceeded or a string has a character XML forbids.
    """
    if not arguments_fit(method, args):
        explain_refusal(method, args)
        raise InvalidArgument(f"{method.name}: an argument breaks a bound")  # explain_refusal always raises


def arguments_fit(method: Method, args: tuple[Any, ...]) -> bool:
    """Whether every argument respects its bounds, without saying which does not.

    Every call runs this and nothing else: checks compiled once per method, that build
    no text (the walk of :func:`explain_refusal` formats where it is for each value, and
    cost a bridge call more than its own reply, issue 14). It accepts exactly what the
    walk accepts (``tests/unit/test_bridge_arguments.py`` holds them to it).
    """
    try:
        for size, value in zip(_method_checks(method), args):
            if size(value) > MAX_TOTAL:
                return False
    except _Refused:
        return False
    return True


def explain_refusal(method: Method, args: tuple[Any, ...]) -> None:
    """Walk the arguments of a refused call to say which bound the first one breaks, and where.

    :raises InvalidArgument: naming the argument, where in it, and the bound.
    """
    for spec_arg, value in zip(method.args, args):
        _ArgumentWalk(method, spec_arg).walk(f"argument {spec_arg.name!r}", _signature_type(spec_arg.signature), value)


def _signature_type(signature: str) -> SignatureType:
    return get_signature_tree(signature).types[0]  # type: ignore[no-any-return]


class _Refused(Exception):
    """A compiled check found a broken type or bound: the walk then says which."""


#: compiled checks by method, kept with the method (so that its id stays its own)
_compiled: dict[int, tuple[Method, tuple[SizeCheck, ...]]] = {}


def _method_checks(method: Method) -> tuple[SizeCheck, ...]:
    compiled = _compiled.get(id(method))
    if compiled is None:
        compiled = _compiled[id(method)] = (method, tuple(
            _size_check(_signature_type(arg.signature), _max_length(arg)) for arg in method.args
        ))
    return compiled[1]


def _max_length(spec_arg: Arg) -> int:
    return spec_arg.max_length if spec_arg.max_length is not None else MAX_STRING


def _counted_once(_value: Any) -> int:
    return 1  # numbers, booleans: D-Bus checked their type and range


def _size_check(kind: SignatureType, max_length: int) -> SizeCheck:
    """The compiled check of one signature type: the same rules as :class:`_ArgumentWalk`.

    Bounds are read from the module when a call is checked; the sizes of a container's
    entries are added up as they come, so that a huge value is refused as soon as it
    passes :data:`MAX_TOTAL`, as the walk does.
    """
    token = kind.token
    if token in "sog":
        def string(value: Any) -> int:
            if not isinstance(value, str) or len(value) > max_length or forbidden_xml_char(value) is not None:
                raise _Refused
            return len(value)
        return string
    if token == "a":
        return _array_check(kind.children[0], max_length)
    if token == "(":
        fields = tuple(_size_check(child, max_length) for child in kind.children)

        def struct(value: Any) -> int:
            if not isinstance(value, (list, tuple)) or len(value) != len(fields):
                raise _Refused
            return _sized(zip(fields, value), 0)
        return struct
    if token == "v":
        def variant(value: Any) -> int:
            if isinstance(value, Variant):
                return _variant_check(value.signature, max_length)(value.value)
            return 1
        return variant
    return _counted_once


def _array_check(item_kind: SignatureType, max_length: int) -> SizeCheck:
    token = item_kind.token
    if token == "{":
        key_size, value_size = (_size_check(child, max_length) for child in item_kind.children)

        def mapping(value: Any) -> int:
            if not isinstance(value, dict) or len(value) > MAX_ITEMS:
                raise _Refused
            size = len(value)
            for key, entry in value.items():
                size += key_size(key) + value_size(entry)
                if size > MAX_TOTAL:
                    raise _Refused
            return size
        return mapping
    if token == "y":  # a byte array is data, not text
        def data(value: Any) -> int:
            if not isinstance(value, (bytes, bytearray, list)) or len(value) > MAX_ITEMS:
                raise _Refused
            return len(value)
        return data
    item_size = _size_check(item_kind, max_length)

    def array(value: Any) -> int:
        if not isinstance(value, (list, tuple)) or len(value) > MAX_ITEMS:
            raise _Refused
        return _sized(((item_size, item) for item in value), len(value))
    return array


def _sized(checked: Any, size: int) -> int:
    """``size`` plus the size of each (check, value), refused past :data:`MAX_TOTAL`."""
    for check, value in checked:
        size += check(value)
        if size > MAX_TOTAL:
            raise _Refused
    return size


@lru_cache(maxsize=VARIANT_CHECKS_KEPT)
def _variant_check(signature: str, max_length: int) -> SizeCheck:
    return _size_check(_signature_type(signature), max_length)


class _ArgumentWalk:
    """The walk of one argument, counting its total size as it goes."""

    def __init__(self, method: Method, spec_arg: Arg) -> None:
        self.method = method
        self.max_length = _max_length(spec_arg)
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
