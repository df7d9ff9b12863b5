"""Declared params: one registry, extended by plugins, that types and validates every value.

A param is (category, name) with a type, a default and a doc. Values travel as strings
on the bridge; :meth:`ParamsRegistry.normalise` turns user input into the canonical
string stored in the database (``"true"``, ``"5222"``…) or raises ``InvalidArgument``.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any, Literal

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.jids import parse_bare_jid

ParamType = Literal["string", "password", "jid", "int", "bool", "choice", "path"]
Scope = Literal["individual", "general"]

TLS_MODES = ("required", "starttls-optional", "direct", "none")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
MAX_VALUE_LENGTH = 4096


@dataclass(frozen=True)
class ParamDefinition:
    """What a param is; ``constraints`` describe valid values for frontends."""

    category: str
    name: str
    type: ParamType
    default: str
    doc: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    scope: Scope = "individual"

    @property
    def key(self) -> tuple[str, str]:
        return (self.category, self.name)

    @property
    def is_secret(self) -> bool:
        return self.type == "password"

    def describe(self) -> dict[str, Any]:
        constraints: dict[str, Any] = {}
        if self.choices:
            constraints["choices"] = list(self.choices)
        if self.minimum is not None:
            constraints["min"] = self.minimum
        if self.maximum is not None:
            constraints["max"] = self.maximum
        return {
            "category": self.category,
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "doc": self.doc,
            "scope": self.scope,
            "constraints": constraints,
        }


class ParamsRegistry:
    """Every declared param, in declaration order."""

    def __init__(self) -> None:
        self._definitions: dict[tuple[str, str], ParamDefinition] = {}

    @classmethod
    def with_core_params(cls) -> ParamsRegistry:
        """A registry holding the params of the core (plugins declare theirs later)."""
        registry = cls()
        for definition in CORE_PARAMS:
            registry.declare(definition)
        return registry

    def declare(self, definition: ParamDefinition) -> None:
        """Add a param; plugins call this when they load.

        :raises ValueError: the same (category, name) is already declared differently.
        """
        existing = self._definitions.get(definition.key)
        if existing is not None and existing != definition:
            raise ValueError(f"param {definition.category}/{definition.name} is already declared")
        self.normalise(definition, definition.default) if definition.default else None
        self._definitions[definition.key] = definition

    def get(self, category: str, name: str) -> ParamDefinition:
        """:raises InvalidArgument: no such param."""
        try:
            return self._definitions[(category, name)]
        except KeyError:
            raise InvalidArgument(f"unknown param {category}/{name}") from None

    def __iter__(self) -> Iterator[ParamDefinition]:
        return iter(self._definitions.values())

    @staticmethod
    def normalise(definition: ParamDefinition, value: str) -> str:
        """Validate ``value`` for ``definition`` and return its canonical string form.

        :raises InvalidArgument: the value does not fit the param's type or constraints.
        """
        where = f"{definition.category}/{definition.name}"
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidArgument(f"{where}: value longer than {MAX_VALUE_LENGTH} characters")
        if any(ord(char) < 32 and char not in "\t" for char in value) and definition.type != "password":
            raise InvalidArgument(f"{where}: control characters are not allowed")
        kind = definition.type
        if kind == "bool":
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return "true"
            if lowered in _FALSE:
                return "false"
            raise InvalidArgument(f"{where}: expected true or false, got {value!r}")
        if kind == "int":
            return _normalise_int(definition, value, where)
        if kind == "choice":
            if value not in definition.choices:
                raise InvalidArgument(f"{where}: {value!r} is not one of {', '.join(definition.choices)}")
            return value
        if kind == "jid":
            return "" if not value.strip() else parse_bare_jid(value.strip(), where)
        if kind == "path":
            stripped = value.strip()
            if stripped and not stripped.startswith("/"):
                raise InvalidArgument(f"{where}: must be an absolute path")
            return stripped
        if kind == "password":
            if "\0" in value:
                raise InvalidArgument(f"{where}: NUL characters are not allowed in a password")
            return value
        return value


def _normalise_int(definition: ParamDefinition, value: str, where: str) -> str:
    try:
        number = int(value.strip(), 10)
    except ValueError:
        raise InvalidArgument(f"{where}: expected an integer, got {value!r}") from None
    if definition.minimum is not None and number < definition.minimum:
        raise InvalidArgument(f"{where}: {number} is below the minimum {definition.minimum}")
    if definition.maximum is not None and number > definition.maximum:
        raise InvalidArgument(f"{where}: {number} is above the maximum {definition.maximum}")
    return str(number)


#: params of the core; plugins declare theirs on load
CORE_PARAMS: tuple[ParamDefinition, ...] = (
    ParamDefinition("Connection", "JabberID", "jid", "", "Account JID (user@domain)"),
    ParamDefinition("Connection", "Password", "password", "", "Account password, stored encrypted"),
    ParamDefinition(
        "Connection", "Host", "string", "", "Server host to connect to (empty: resolved from the JID)"
    ),
    ParamDefinition(
        "Connection", "Port", "int", "5222", "Server port", minimum=1, maximum=65535
    ),
    ParamDefinition(
        "Connection",
        "TLS",
        "choice",
        "required",
        "TLS mode: required (STARTTLS, refuse plain), starttls-optional, direct (XEP-0368) "
        "or none (loopback hosts only)",
        choices=TLS_MODES,
    ),
    ParamDefinition(
        "Connection", "CAFile", "path", "", "PEM file of extra certificate authorities to trust"
    ),
    ParamDefinition(
        "Connection", "Autoconnect", "bool", "false", "Connect this profile when the backend starts"
    ),
    ParamDefinition("General", "Language", "string", "", "Preferred language (BCP 47 tag, e.g. fr)"),
)
