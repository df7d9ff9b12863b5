"""Param typing/validation, profile names and ProfileCreate options (pure logic)."""

from __future__ import annotations

import pytest

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.params import CORE_PARAMS, ParamDefinition, ParamsRegistry
from sat_backend.core.profiles import parse_profile_options, validate_profile_name


@pytest.fixture
def registry() -> ParamsRegistry:
    registry = ParamsRegistry()
    for definition in CORE_PARAMS:
        registry.declare(definition)
    return registry


@pytest.mark.parametrize(
    "name, value, canonical",
    [
        ("Port", " 5223 ", "5223"),
        ("Port", "1", "1"),
        ("Port", "65535", "65535"),
        ("Autoconnect", "Yes", "true"),
        ("Autoconnect", "0", "false"),
        ("TLS", "direct", "direct"),
        ("JabberID", "Bob@Example.ORG", "bob@example.org"),
        ("CAFile", "/etc/ssl/ca.pem", "/etc/ssl/ca.pem"),
        ("CAFile", "", ""),
        ("Password", "p\u00e4ss w\u00f6rd\t", "p\u00e4ss w\u00f6rd\t"),
    ],
)
def test_values_are_normalised(registry: ParamsRegistry, name: str, value: str, canonical: str) -> None:
    assert registry.normalise(registry.get("Connection", name), value) == canonical


@pytest.mark.parametrize(
    "name, value",
    [
        ("Port", "0"),
        ("Port", "65536"),
        ("Port", "-1"),
        ("Port", "22a"),
        ("Port", ""),
        ("Autoconnect", "maybe"),
        ("TLS", "REQUIRED"),
        ("TLS", "ssl"),
        ("JabberID", "no-user.example.org"),
        ("JabberID", "a@b/c"),
        ("CAFile", "relative.pem"),
        ("Host", "evil\nhost"),
        ("Host", "x" * 5000),
    ],
)
def test_invalid_values_are_refused(registry: ParamsRegistry, name: str, value: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        registry.normalise(registry.get("Connection", name), value)
    assert f"Connection/{name}" in str(raised.value)


def test_unknown_param_and_duplicate_declaration(registry: ParamsRegistry) -> None:
    with pytest.raises(InvalidArgument, match="unknown param"):
        registry.get("Connection", "Colour")
    same = registry.get("Connection", "Port")
    registry.declare(same)  # identical re-declaration is harmless
    with pytest.raises(ValueError):
        registry.declare(ParamDefinition("Connection", "Port", "string", "", "other"))


def test_describe_gives_constraints(registry: ParamsRegistry) -> None:
    port = registry.get("Connection", "Port").describe()
    assert port["constraints"] == {"min": 1, "max": 65535}
    assert registry.get("Connection", "TLS").describe()["constraints"]["choices"] == [
        "required", "starttls-optional", "direct", "none",
    ]


@pytest.mark.parametrize("name", ["alice", "Alice Work", "élodie", "a" * 64, "a.b-c_d"])
def test_valid_profile_names(name: str) -> None:
    assert validate_profile_name(name) == name


@pytest.mark.parametrize("name", ["", "   ", "a/b", "a\\b", "a\nb", "a\x00", "a" * 65, " a", "a\u200b"])
def test_invalid_profile_names(name: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_profile_name(name)


def test_profile_options() -> None:
    assert parse_profile_options("") == {}
    assert parse_profile_options(
        '{"host": "h", "port": 5223, "tls": "none", "autoconnect": false, "ca_file": "/ca"}'
    ) == {"host": "h", "port": "5223", "tls": "none", "autoconnect": "false", "ca_file": "/ca"}
    for bad in ('{"port": true}', '{"autoconnect": 1}', '{"x": 1}', "[1]", "{", '{"host": 3}'):
        with pytest.raises(InvalidArgument):
            parse_profile_options(bad)
