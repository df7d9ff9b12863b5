"""Hostile calls against the real backend on a real bus: the daemon keeps its name and
answers each with a typed, bounded error."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from sat_backend import __version__
from sat_backend.core.constants import EXIT_BUS
from sat_bridge import errors
from sat_bridge.client import BridgeUnavailable
from sat_bridge.errors import MAX_MESSAGE_LENGTH
from sat_bridge.spec import BUS_NAME, CORE_INTERFACE, OBJECT_PATH, Method, full_spec
from tests.conftest import BIN_DIR
from tests.fixtures.backend import BackendProcess
from tests.fixtures.dbus import PrivateBus, isolated_environment

INVALID_ARGUMENT = "org.salutatoi.SAT1.Error.InvalidArgument"
#: the original attack: replies echoing an 8 MB profile name, with small calls among them
HUGE = "p" * (8 * 1024 * 1024)
HUGE_CALLS = 3
SMALL_CALLS = 50
#: bound of any wait for a process to react
WAIT = 60.0


def _call(member: str, signature: str = "", body: list[Any] | None = None, interface: str | None = CORE_INTERFACE) -> Message:
    return Message(
        destination=BUS_NAME, path=OBJECT_PATH, interface=interface, member=member,
        signature=signature, body=body or [],
    )


def _raw_calls(address: str, messages: list[Message]) -> list[Message]:
    """Send every message at once on one raw dbus-fast connection; the replies, in order."""

    async def run() -> list[Message]:
        bus = await MessageBus(bus_address=address).connect()
        try:
            replies = await asyncio.wait_for(asyncio.gather(*(bus.call(m) for m in messages)), WAIT)
            return [reply for reply in replies if reply is not None]
        finally:
            bus.disconnect()

    return asyncio.run(run())


def _owner_pid(address: str) -> int | None:
    """PID of the process owning our bus name now, None when nobody owns it."""
    bus_call = {"destination": "org.freedesktop.DBus", "path": "/org/freedesktop/DBus", "interface": "org.freedesktop.DBus"}
    owner = _raw_calls(address, [Message(**bus_call, member="GetNameOwner", signature="s", body=[BUS_NAME])])[0]
    if owner.message_type == MessageType.ERROR:
        return None
    pid = _raw_calls(
        address, [Message(**bus_call, member="GetConnectionUnixProcessID", signature="s", body=owner.body)]
    )[0]
    return int(pid.body[0])


def _address(backend: BackendProcess) -> str:
    return backend.env["DBUS_SESSION_BUS_ADDRESS"]


@pytest.mark.parametrize(
    ("size", "count"),
    [(len(HUGE), HUGE_CALLS), (300_000, 30)],
    ids=["3x8MB", "30x300kB"],
)
def test_huge_calls_among_small_ones_keep_the_daemon_on_the_bus(
    backend: BackendProcess, size: int, count: int
) -> None:
    """The campaign's attack (replies echoing an 8 MB profile name among 50 small calls),
    and many smaller ones that fill the socket buffers of both ends over and over."""
    assert backend.process is not None
    pid = backend.process.pid
    name = HUGE[:size]
    huge = [_call("ParamGet", "sss", ["Connection", "JabberID", name]) for _ in range(count - 1)]
    huge.append(_call("ProfileDelete", "s", [name]))
    small = [_call("GetVersion") for _ in range(SMALL_CALLS)]
    replies = _raw_calls(_address(backend), huge + small)
    assert len(replies) == count + SMALL_CALLS
    for reply in replies[:count]:
        assert reply.error_name == INVALID_ARGUMENT
        assert reply.body[0].endswith("argument 'profile' is longer than 64 characters")
    assert [reply.body for reply in replies[count:]] == [[__version__]] * SMALL_CALLS
    assert _owner_pid(_address(backend)) == pid
    assert backend.client.get_version() == __version__


def test_wrong_argument_types_name_the_expected_signature(backend: BackendProcess) -> None:
    replies = _raw_calls(
        _address(backend),
        [
            _call("ProfileCreate", "s", ["alice"]),
            _call("ParamGet", "sis", ["Connection", 3, ""]),
            _call("ProfileCreate", "s", ["alice"], interface=None),
            _call("NoSuchMember", "s", ["x"]),
        ],
    )
    assert [(reply.error_name, reply.body[0]) for reply in replies[:3]] == [
        (INVALID_ARGUMENT, "ProfileCreate expects (ssss), got (s)"),
        (INVALID_ARGUMENT, "ParamGet expects (sss), got (sis)"),
        (INVALID_ARGUMENT, "ProfileCreate expects (ssss), got (s)"),
    ]
    # a member we do not have is the D-Bus error for it
    assert replies[3].error_name == "org.freedesktop.DBus.Error.UnknownMethod"
    assert backend.client.get_version() == __version__


@pytest.mark.parametrize(
    ("member", "args", "where", "text"),
    [
        ("PresenceSet", ("", "", {"": "bellringer\x07"}, ""), "argument 'statuses' value #0", "bellringer"),
        ("MessageSend", ("bob@localhost", {"": "hithere\x01"}, {}, "chat", "{}", ""), "argument 'message' value #0",
         "hithere"),
        ("ContactUpdate", ("bob@localhost", "Bobby\ufffe", [], ""), "argument 'name'", "Bobby"),
        ("ParamSet", ("Connection", "Password", "sesame\x1bopen", ""), "argument 'value'", "sesame"),
    ],
)
def test_xml_forbidden_characters_are_refused_before_anything_runs(
    backend: BackendProcess, member: str, args: tuple[Any, ...], where: str, text: str
) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        backend.client.call(member, *args)
    assert caught.value.message.startswith(f"{member}: {where} contains a character XML does not allow (U+")
    assert text not in caught.value.message and text not in backend.log_text()


def test_a_string_d_bus_cannot_carry_is_refused_by_the_client(backend: BackendProcess) -> None:
    with pytest.raises(errors.InvalidArgument, match="NUL"):
        backend.client.param_set("Connection", "Password", "sesame\x00open", "")
    assert backend.client.get_version() == __version__


def test_error_replies_never_exceed_the_bound(backend: BackendProcess) -> None:
    for args in (("Connection", "JabberID", HUGE[:64]), ("x" * 200_000, "JabberID", "")):
        with pytest.raises(errors.BridgeError) as caught:
            backend.client.param_get(*args)
        assert len(caught.value.message) <= MAX_MESSAGE_LENGTH


def _json_members() -> list[tuple[Method, int]]:
    return [
        (member, index)
        for member in full_spec().methods()
        for index, arg in enumerate(member.args)
        if arg.name.endswith("_json")
    ]


_DEFAULTS = {"s": "", "i": 0, "b": False, "as": [], "a{ss}": {}}


@pytest.mark.parametrize(
    "bad_json",
    ["[" * 5000 + "]" * 5000, json.dumps({"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}),
     '{"a": "\\ud800"}', '{"\\u0007": 1}'],
    ids=["recursion", "depth-33", "lone-surrogate", "forbidden-key"],
)
def test_every_json_argument_refuses_hostile_json(backend: BackendProcess, bad_json: str) -> None:
    backend.client.profile_create("alice", "alice@localhost", "", "{}")
    answers = {}
    for member, index in _json_members():
        args = [_DEFAULTS[arg.signature] for arg in member.args]
        args[index] = bad_json
        try:
            backend.client.call(member.name, *args)
        except errors.BridgeError as error:
            answers[member.name] = type(error).__name__
        else:
            answers[member.name] = "accepted"
    assert answers == {member.name: "InvalidArgument" for member, _ in _json_members()}
    assert len(answers) >= 14


def test_a_lost_bus_stops_the_daemon_with_an_error_code(tmp_path: Path) -> None:
    bus = PrivateBus(tmp_path / "bus", isolated_environment(tmp_path / "bus-env", BIN_DIR))
    bus.start()
    env = isolated_environment(tmp_path / "env", BIN_DIR)
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
    backend = BackendProcess(env, tmp_path / "backend.log")
    try:
        client = backend.start()
        assert backend.process is not None
        assert bus.process is not None
        bus.process.kill()
        bus.process.wait(WAIT)
        assert backend.process.wait(WAIT) == EXIT_BUS
        assert "lost the session bus connection" in backend.log_text()
        assert "Traceback" not in backend.log_text()
        with pytest.raises(BridgeUnavailable):
            client.get_version()
    finally:
        backend.stop()
        bus.stop()
