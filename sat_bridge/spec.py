"""The one declarative description of the bridge: every method and signal, core and plugin.

Everything else in :mod:`sat_bridge` is derived from these records: the dbus-fast
``ServiceInterface`` classes the backend exports, the client proxies frontends use, the
in-process embedded bridge, the introspection XML in ``data/dbus-1/interfaces`` and the
API reference in ``doc/``. Change a member here and all of them follow.

D-Bus signature strings live only in this package (house style).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Iterator, Literal, Union

BUS_NAME = "org.salutatoi.SAT1"
OBJECT_PATH = "/org/salutatoi/SAT1/bridge"
CORE_INTERFACE = "org.salutatoi.SAT1.Core"
PLUGIN_INTERFACE = "org.salutatoi.SAT1.Plugin"

InterfaceKind = Literal["core", "plugin"]
INTERFACE_NAMES: dict[InterfaceKind, str] = {"core": CORE_INTERFACE, "plugin": PLUGIN_INTERFACE}

_MEMBER_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_ARG_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def snake_case(camel: str) -> str:
    """``ProfileCreate`` → ``profile_create``: the Python name of a wire member."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


@dataclass(frozen=True)
class Arg:
    """One argument: its Python name, D-Bus signature and meaning.

    ``secret`` marks values (passwords) that must never be logged or echoed; ``content``
    marks what users write (message bodies, subjects, statuses, posts): never logged
    either, as their correspondents did not agree to be in our logs. ``max_length``
    bounds each string in the argument (characters) when the bridge's default bound
    (:data:`sat_bridge.arguments.MAX_STRING`) does not fit it.
    """

    name: str
    signature: str
    doc: str = ""
    secret: bool = False
    content: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class Method:
    """A bridge method. ``is_async`` methods run as coroutines in the backend (they may
    wait on the network or the database); the others answer synchronously, which is the
    fastest path through dbus-fast."""

    name: str
    interface: InterfaceKind
    args: tuple[Arg, ...]
    out: str
    doc: str
    is_async: bool = True
    out_doc: str = ""

    @cached_property
    def in_signature(self) -> str:
        """Worked out once: every call of the method is checked against it."""
        return "".join(arg.signature for arg in self.args)

    @property
    def python_name(self) -> str:
        return snake_case(self.name)


@dataclass(frozen=True)
class Signal:
    """A bridge signal, emitted by the backend to every frontend."""

    name: str
    interface: InterfaceKind
    args: tuple[Arg, ...]
    doc: str

    @property
    def signature(self) -> str:
        return "".join(arg.signature for arg in self.args)

    @property
    def python_name(self) -> str:
        return snake_case(self.name)


Member = Union[Method, Signal]


@dataclass
class BridgeSpec:
    """An ordered, name-unique collection of members.

    The backend adds the members of each plugin it loads (:meth:`add`); frontends use
    the full static spec (:func:`full_spec`) so they know plugin members without
    importing the backend.
    """

    members: dict[str, Member] = field(default_factory=dict)

    def add(self, member: Member) -> None:
        """Add a member, refusing anything that would break the contract.

        :raises ValueError: bad name, bad signature, or a name already taken.
        """
        _check_member(member)
        if member.name in self.members:
            if self.members[member.name] == member:
                return
            raise ValueError(f"bridge member {member.name!r} is already declared differently")
        self.members[member.name] = member

    def extend(self, members: Iterable[Member]) -> None:
        for member in members:
            self.add(member)

    def __getitem__(self, name: str) -> Member:
        return self.members[name]

    def __contains__(self, name: object) -> bool:
        return name in self.members

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members.values())

    def methods(self, interface: InterfaceKind | None = None) -> list[Method]:
        return [
            m
            for m in self.members.values()
            if isinstance(m, Method) and (interface is None or m.interface == interface)
        ]

    def signals(self, interface: InterfaceKind | None = None) -> list[Signal]:
        return [
            m
            for m in self.members.values()
            if isinstance(m, Signal) and (interface is None or m.interface == interface)
        ]


def _check_member(member: Member) -> None:
    from dbus_fast.signature import get_signature_tree

    if not _MEMBER_NAME.match(member.name):
        raise ValueError(f"bridge member name {member.name!r} must be CamelCase")
    names = [arg.name for arg in member.args]
    if len(set(names)) != len(names):
        raise ValueError(f"{member.name}: duplicate argument names")
    for arg in member.args:
        if "h" in arg.signature:
            # the bridge answers calls with their bodies as they came (sat_bridge.method_calls)
            # and sends signals as it builds them (DBusBridge.emit): no descriptor is passed on
            raise ValueError(f"{member.name}.{arg.name}: file descriptors (h) do not cross this bridge")
        if not _ARG_NAME.match(arg.name):
            raise ValueError(f"{member.name}: argument name {arg.name!r} must be snake_case")
        if len(get_signature_tree(arg.signature).types) != 1:
            raise ValueError(f"{member.name}.{arg.name}: {arg.signature!r} is not one complete type")
    if isinstance(member, Method):
        if member.out and len(get_signature_tree(member.out).types) != 1:
            raise ValueError(f"{member.name}: out signature must be one complete type")
        if "h" in member.out:
            raise ValueError(f"{member.name}: file descriptors (h) do not cross this bridge")


def full_spec() -> BridgeSpec:
    """Every member known to this release, core and plugins (for clients, XML and docs)."""
    from sat_bridge.members import ALL_MEMBERS

    spec = BridgeSpec()
    spec.extend(ALL_MEMBERS)
    return spec
