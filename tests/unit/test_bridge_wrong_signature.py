"""Calls of our methods with other argument types get InvalidArgument naming the
expected signature, not dbus-fast's UnknownMethod (the handler alone, no bus)."""

from __future__ import annotations

from dbus_fast import Message, MessageFlag, MessageType

from sat_bridge.service import WrongSignatureHandler
from sat_bridge.spec import CORE_INTERFACE, OBJECT_PATH, PLUGIN_INTERFACE, full_spec

HANDLER = WrongSignatureHandler(full_spec().methods())


def _call(member: str, signature: str, body: list[object], **fields: object) -> Message:
    values: dict[str, object] = {"path": OBJECT_PATH, "interface": CORE_INTERFACE, "serial": 7, "sender": ":1.9"}
    values.update(fields)
    return Message(member=member, signature=signature, body=body, **values)  # type: ignore[arg-type]


def test_a_wrong_signature_is_invalid_argument_naming_both() -> None:
    reply = HANDLER(_call("ProfileCreate", "s", ["alice"]))
    assert isinstance(reply, Message)
    assert reply.message_type == MessageType.ERROR and reply.reply_serial == 7
    assert reply.error_name == "org.salutatoi.SAT1.Error.InvalidArgument"
    assert reply.body == ["ProfileCreate expects (ssss), got (s)"]


def test_a_call_without_interface_is_matched_by_member() -> None:
    reply = HANDLER(_call("GetVersion", "s", ["x"], interface=None))
    assert isinstance(reply, Message) and reply.body == ["GetVersion expects (), got (s)"]


def test_what_is_not_ours_to_answer_goes_on_to_dbus_fast() -> None:
    assert HANDLER(_call("ProfileCreate", "ssss", ["a", "b", "c", "d"])) is None  # the right signature
    assert HANDLER(_call("NoSuchMember", "s", ["x"])) is None  # UnknownMethod, from dbus-fast
    assert HANDLER(_call("ProfileCreate", "s", ["x"], interface=PLUGIN_INTERFACE)) is None  # not on that interface
    assert HANDLER(_call("ProfileCreate", "s", ["x"], path="/elsewhere")) is None
    signal = Message(message_type=MessageType.SIGNAL, path=OBJECT_PATH, interface=CORE_INTERFACE,
                     member="ProfileCreate", signature="s", body=["x"])
    assert HANDLER(signal) is None


def test_no_reply_is_sent_to_a_call_that_wants_none() -> None:
    assert HANDLER(_call("ProfileCreate", "s", ["x"], flags=MessageFlag.NO_REPLY_EXPECTED)) is True
