"""Error mapping both ways and the common call path (embedded bridge, no bus)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sat_bridge import errors
from sat_bridge.embedded import EmbeddedBridge
from sat_bridge.spec import Arg, Method, Signal
from sat_backend.core import exceptions


def test_every_error_name_round_trips() -> None:
    for name, cls in errors.ERRORS_BY_NAME.items():
        error = cls("some text")
        assert error.dbus_name == f"org.salutatoi.SAT1.Error.{name}"
        rebuilt = errors.error_from_dbus(error.dbus_name, "some text")
        assert type(rebuilt) is cls and rebuilt.message == "some text"


def test_contract_error_names_exist() -> None:
    contract = {
        "NotFound", "InvalidArgument", "ProfileUnknown", "ProfileNotConnected", "Conflict",
        "PermissionDenied", "AuthFailed", "Timeout", "Network", "Stanza", "Database",
        "NotSupported", "Internal",
    }
    assert set(errors.ERRORS_BY_NAME) == contract
    # the core raises exactly the bridge classes (1:1)
    for name in contract:
        assert getattr(exceptions, name) is errors.ERRORS_BY_NAME[name]


def test_foreign_errors_become_internal_keeping_their_name() -> None:
    error = errors.error_from_dbus("org.freedesktop.DBus.Error.AccessDenied", "nope")
    assert isinstance(error, errors.Internal)
    assert "org.freedesktop.DBus.Error.AccessDenied" in str(error)


ECHO = Method("Echo", "plugin", (Arg("text", "s"), Arg("secret", "s", secret=True)), "s", "echo")


def _bridge(implementation) -> EmbeddedBridge:  # type: ignore[no-untyped-def]
    bridge = EmbeddedBridge()
    bridge.add_method(ECHO, implementation)
    return bridge


def test_typed_errors_pass_through_unchanged() -> None:
    def fail(text: str, secret: str) -> str:
        raise errors.NotFound(f"no {text}")

    with pytest.raises(errors.NotFound, match="no thing"):
        asyncio.run(_bridge(fail).call("Echo", "thing", "pw"))


def test_unexpected_exceptions_become_internal_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    def crash(text: str, secret: str) -> str:
        raise KeyError("boom")

    caplog.set_level(logging.ERROR)
    with pytest.raises(errors.Internal) as raised:
        asyncio.run(_bridge(crash).call("Echo", "thing", "hunter2"))
    assert "Echo" in str(raised.value) and "hunter2" not in str(raised.value)
    assert "KeyError" in caplog.text and "hunter2" not in caplog.text


def test_embedded_bridge_checks_types_and_arity() -> None:
    bridge = _bridge(lambda text, secret: text)
    assert asyncio.run(bridge.call("Echo", "hi", "x")) == "hi"
    with pytest.raises(errors.InvalidArgument):
        asyncio.run(bridge.call("Echo", "hi"))
    with pytest.raises(errors.InvalidArgument):
        asyncio.run(bridge.call("Echo", 1, "x"))
    with pytest.raises(errors.InvalidArgument):
        asyncio.run(bridge.call("Unknown"))


def test_signals_must_be_declared_and_enabled() -> None:
    bridge = EmbeddedBridge()
    received = []
    bridge.on_signal("ParamUpdate", lambda *args: received.append(args))
    with pytest.raises(ValueError):
        bridge.emit("ParamUpdate", "a", "b", "c", "d")  # declared but not enabled
    bridge.enable_signal("ParamUpdate")
    bridge.emit("ParamUpdate", "a", "b", "c", "d")
    assert received == [("a", "b", "c", "d")]
    with pytest.raises(TypeError):
        bridge.emit("ParamUpdate", "too few")
    bridge.add_signal(Signal("Ping", "plugin", (Arg("n", "i"),), "ping"))
    bridge.emit("Ping", 3)
    assert bridge.emitted[-1] == ("Ping", (3,))
