"""Spec → interface / XML / client derivation (pure logic, no bus)."""

from __future__ import annotations

import inspect
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from dbus_fast.service import ServiceInterface

from sat_bridge import client, generate
from sat_bridge.service import DBusBridge
from sat_bridge.spec import Arg, BridgeSpec, Method, Signal, full_spec, snake_case

ROOT = Path(__file__).resolve().parents[2]


def test_generated_files_are_up_to_date() -> None:
    """Fails when the XML or the API doc was not regenerated after a spec change."""
    stale = [
        str(path.relative_to(ROOT))
        for path, content in generate.generated_files(ROOT).items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    assert stale == [], f"run `python -m sat_bridge.generate`; stale: {stale}"


def test_xml_lists_every_member_with_its_signature() -> None:
    spec = full_spec()
    tree = ET.fromstring(generate.interface_xml(spec, "core").split("\n", 3)[3])
    interface = tree.find("interface")
    assert interface is not None and interface.get("name") == "org.salutatoi.SAT1.Core"
    methods = {m.get("name"): m for m in interface.findall("method")}
    assert set(methods) == {m.name for m in spec.methods("core")}
    create = methods["ProfileCreate"]
    assert [(a.get("name"), a.get("type"), a.get("direction")) for a in create.findall("arg")] == [
        ("profile", "s", "in"), ("jid", "s", "in"), ("password", "s", "in"), ("options_json", "s", "in"),
    ]
    signal = interface.find("signal[@name='ParamUpdate']")
    assert signal is not None
    assert [a.get("type") for a in signal.findall("arg")] == ["s", "s", "s", "s"]


def test_contract_signatures_are_kept() -> None:
    """Names and signatures fixed by the bridge contract."""
    spec = full_spec()
    expected = {
        "GetVersion": ("", "s"),
        "GetReady": ("", ""),
        "ProfilesList": ("", "as"),
        "ProfileCreate": ("ssss", ""),
        "ProfileDelete": ("s", ""),
        "ParamGet": ("sss", "s"),
        "ParamSet": ("ssss", ""),
    }
    for name, (in_signature, out) in expected.items():
        method = spec[name]
        assert isinstance(method, Method)
        assert (method.in_signature, method.out) == (in_signature, out), name
        assert method.interface == "core"
    param_update = spec["ParamUpdate"]
    assert isinstance(param_update, Signal)
    assert [a.name for a in param_update.args] == ["name", "value", "category", "profile"]


def test_dbus_interface_is_built_from_registered_members_only() -> None:
    bridge = DBusBridge()
    bridge.register_method("GetVersion", lambda: "1.0")
    bridge.enable_signal("ParamUpdate")
    interface = bridge._build_interface("core")
    assert isinstance(interface, ServiceInterface)
    introspection = interface.introspect()
    assert [m.name for m in introspection.methods] == ["GetVersion"]
    assert [m.out_signature for m in introspection.methods] == ["s"]
    assert [s.name for s in introspection.signals] == ["ParamUpdate"]
    assert bridge._build_interface("plugin").introspect().methods == []


def test_client_has_one_documented_method_per_spec_method() -> None:
    for method in full_spec().methods():
        proxy = getattr(client.AsyncBridgeClient, method.python_name)
        assert inspect.iscoroutinefunction(proxy)
        assert method.name in (proxy.__doc__ or "")
        assert getattr(client.BridgeClient, method.python_name).__name__ == method.python_name


@pytest.mark.parametrize(
    "member, message",
    [
        (Method("lower", "core", (), "", "doc"), "CamelCase"),
        (Method("Two", "core", (Arg("a", "s"), Arg("a", "s")), "", "doc"), "duplicate"),
        (Method("BadSig", "core", (Arg("a", "ss"),), "", "doc"), "one complete type"),
        (Method("BadArg", "core", (Arg("Camel", "s"),), "", "doc"), "snake_case"),
        (Method("Handle", "core", (Arg("fd", "h"),), "", "doc"), "file descriptors"),
        (Method("Handles", "core", (), "ah", "doc"), "file descriptors"),
        (Signal("Passed", "core", (Arg("fds", "a{sh}"),), "doc"), "file descriptors"),
    ],
)
def test_spec_rejects_malformed_members(member: Method, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BridgeSpec().add(member)


def test_spec_rejects_a_name_declared_twice_differently() -> None:
    spec = BridgeSpec()
    spec.add(Method("Echo", "plugin", (Arg("text", "s"),), "s", "echo"))
    spec.add(Method("Echo", "plugin", (Arg("text", "s"),), "s", "echo"))  # identical: fine
    with pytest.raises(ValueError, match="already declared"):
        spec.add(Method("Echo", "plugin", (), "s", "other"))


def test_snake_case() -> None:
    assert snake_case("ProfileCreate") == "profile_create"
    assert snake_case("PsCacheGet") == "ps_cache_get"
    assert snake_case("GetVersion") == "get_version"
