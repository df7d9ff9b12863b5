"""The bus's message handler that answers our methods' calls (``MethodCalls``), alone,
without a bus: each call is run at once and answered in the same turn when it does not
wait, in a Task when it does; calls with other argument types than the spec's get
InvalidArgument naming both, not dbus-fast's UnknownMethod."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from dbus_fast import Message, MessageFlag, MessageType

from sat_bridge.dispatch import BridgeDispatcher
from sat_bridge.errors import NotFound
from sat_bridge.method_calls import MethodCalls
from sat_bridge.spec import CORE_INTERFACE, OBJECT_PATH, PLUGIN_INTERFACE, Arg, BridgeSpec, Method

INVALID = "org.salutatoi.SAT1.Error.InvalidArgument"
#: set by a member's first step
_STEP: contextvars.ContextVar[str] = contextvars.ContextVar("step")


def _method(name: str, is_async: bool, out: str = "s") -> Method:
    return Method(name, "core", (Arg("text", "s"),), out, "", is_async=is_async)


class Members:
    """A bridge of a few members, with what each call did."""

    def __init__(self, marshalled: bool = False) -> None:
        """:param marshalled: replies are marshalled as the bus does when it sends them."""
        self.dispatcher = BridgeDispatcher(BridgeSpec())
        self.sent: list[Message] = []
        self.waiting_on: asyncio.Future[str] | None = None
        self.dispatcher.add_method(_method("Upper", is_async=False), str.upper)
        self.dispatcher.add_method(_method("UpperLater", is_async=True), self.upper_later)
        self.dispatcher.add_method(_method("Waits", is_async=True), self.waits)
        self.dispatcher.add_method(_method("Lost", is_async=True), self.lost)
        self.dispatcher.add_method(_method("NotAString", is_async=True), self.not_a_string)
        self.dispatcher.add_method(_method("BadYield", is_async=True), self.bad_yield)
        self.dispatcher.add_method(_method("Timed", is_async=True), self.timed)
        self.calls = MethodCalls(self.dispatcher, self.dispatcher.exported_methods(),
                                 self.send_marshalled if marshalled else self.sent.append)

    def send_marshalled(self, message: Message) -> None:
        message._marshall(False)
        self.sent.append(message)

    async def upper_later(self, text: str) -> str:
        if text == "turn":
            await _BareTurn()
        return text.upper()

    async def settled(self) -> None:
        """Until every call that waited has ended and answered (its done callback, which
        answers, was added before any other)."""
        while self.calls._waiting:
            await asyncio.wait(set(self.calls._waiting))

    async def waits(self, text: str) -> str:
        self.waiting_on = asyncio.get_running_loop().create_future()
        return text + await self.waiting_on

    async def lost(self, text: str) -> str:
        raise NotFound(f"no {text}")

    async def not_a_string(self, text: str) -> Any:
        return 42

    async def timed(self, text: str) -> str:
        """Under ``asyncio.timeout`` (which needs a current task, as asyncpg's connect does):
        ``now`` ends at once, ``expire`` waits past its deadline; what its first step sets
        in the context is still there after it waited."""
        before = asyncio.current_task()
        _STEP.set(text)
        try:
            async with asyncio.timeout(0.01 if text == "expire" else 60):
                if text != "now":
                    await asyncio.get_running_loop().create_future()  # never set
        except TimeoutError:
            where = "its task" if asyncio.current_task() is before else "another task"
            return f"timed out in {where}, {_STEP.get('its context lost')}"
        return "in time"

    async def bad_yield(self, text: str) -> str:
        await _BadYield()  # as a bare ``await deferred`` in a Task: the Task throws RuntimeError back
        return "went on as if nothing had happened"


class _BadYield:
    """Yields what a Task cannot wait on (a Twisted ``Deferred`` awaited bare does)."""

    def __await__(self) -> Any:
        yield "not a future"


class _BareTurn:
    """Awaited in a Task, one turn of the loop (what ``asyncio.sleep(0)`` yields: None)."""

    def __await__(self) -> Any:
        yield


def _call(member: str, signature: str = "s", body: list[object] | None = None, **fields: object) -> Message:
    values: dict[str, object] = {"path": OBJECT_PATH, "interface": CORE_INTERFACE, "serial": 7, "sender": ":1.9"}
    values.update(fields)
    return Message(member=member, signature=signature, body=["x"] if body is None else body, **values)  # type: ignore[arg-type]


def _answer(members: Members) -> tuple[MessageType, str | None, list[Any]]:
    assert len(members.sent) == 1, members.sent
    reply = members.sent[0]
    assert reply.reply_serial == 7 and reply.destination == ":1.9"
    return reply.message_type, reply.error_name, reply.body


def _internal(members: Members) -> str:
    """The text of the one answer sent, an ``Internal`` error."""
    kind, name, body = _answer(members)
    assert (kind, name) == (MessageType.ERROR, "org.salutatoi.SAT1.Error.Internal")
    return str(body[0])


def test_a_call_that_does_not_wait_is_answered_at_once() -> None:
    async def run() -> None:
        members = Members()
        assert members.calls(_call("Upper", body=["abc"])) is True
        assert _answer(members) == (MessageType.METHOD_RETURN, None, ["ABC"])
        members.sent.clear()
        assert members.calls(_call("UpperLater", body=["abc"])) is True
        assert _answer(members) == (MessageType.METHOD_RETURN, None, ["ABC"])
        assert not members.calls._waiting

    asyncio.run(run())


def test_a_call_that_waits_is_answered_when_it_ends() -> None:
    async def run() -> None:
        members = Members()
        assert members.calls(_call("Waits", body=["abc"])) is True
        assert members.sent == [] and members.waiting_on is not None
        (task,) = members.calls._waiting
        await _BareTurn()  # the Task's first step
        assert members.sent == [] and not task.done()  # still waiting
        members.waiting_on.set_result("def")
        await members.settled()
        assert _answer(members) == (MessageType.METHOD_RETURN, None, ["abcdef"])
        assert not members.calls._waiting
        members.sent.clear()
        members.calls(_call("UpperLater", body=["turn"]))  # a bare turn of the loop
        assert members.sent == []
        await members.settled()
        assert _answer(members) == (MessageType.METHOD_RETURN, None, ["TURN"])

    asyncio.run(run())


def test_a_call_runs_in_its_task_from_its_first_step() -> None:
    """Its first step runs at once, yet with its Task as the current task and in its
    Task's context: what needs a task (``asyncio.timeout``) works whether the call ends
    at once or waits, in the same Task, which sees what the first step set."""
    async def run() -> None:
        members = Members()
        members.calls(_call("Timed", body=["now"]))
        assert _answer(members) == (MessageType.METHOD_RETURN, None, ["in time"])
        assert not members.calls._waiting
        members.sent.clear()
        members.calls(_call("Timed", body=["expire"]))
        assert members.sent == [] and members.calls._waiting
        await members.settled()
        assert _answer(members) == (MessageType.METHOD_RETURN, None, ["timed out in its task, expire"])
        assert _STEP.get("unset") == "unset"  # the call's context is its own

    asyncio.run(run())


def test_a_failure_is_the_typed_error_before_or_after_waiting() -> None:
    async def run() -> None:
        members = Members()
        assert members.calls(_call("Lost", body=["node"])) is True
        assert _answer(members) == (MessageType.ERROR, "org.salutatoi.SAT1.Error.NotFound", ["no node"])
        members.sent.clear()
        members.calls(_call("Waits"))
        assert members.waiting_on is not None
        members.waiting_on.set_exception(NotFound("gone meanwhile"))
        await members.settled()
        assert _answer(members) == (MessageType.ERROR, "org.salutatoi.SAT1.Error.NotFound", ["gone meanwhile"])

    asyncio.run(run())


def test_a_cancelled_call_is_answered_internal() -> None:
    async def run() -> None:
        members = Members()
        members.calls(_call("Waits"))
        (task,) = members.calls._waiting
        task.cancel()
        await members.settled()
        assert "Waits was cancelled" in _internal(members)
        assert members.waiting_on is not None and members.waiting_on.cancelled()

    asyncio.run(run())


def test_what_the_task_throws_back_goes_into_the_call() -> None:
    """The Task's answer to a bad yield (a RuntimeError thrown in) reaches the member,
    which fails: the caller gets Internal, not a result as if it had waited."""
    async def run() -> None:
        members = Members()
        members.calls(_call("BadYield"))
        await members.settled()
        assert "unexpected error in BadYield (RuntimeError)" in _internal(members)

    asyncio.run(run())


def test_a_result_its_signature_cannot_carry_is_answered_internal() -> None:
    async def run() -> None:
        members = Members(marshalled=True)
        assert members.calls(_call("NotAString")) is True
        assert "NotAString returned a value its signature cannot carry" in _internal(members)

    asyncio.run(run())


def test_no_reply_is_sent_to_a_call_that_wants_none() -> None:
    async def run() -> None:
        members = Members()
        quiet = MessageFlag.NO_REPLY_EXPECTED
        assert members.calls(_call("Upper", flags=quiet)) is True
        assert members.calls(_call("Lost", flags=quiet)) is True
        assert members.calls(_call("Upper", signature="", body=[], flags=quiet)) is True
        members.calls(_call("Waits", flags=quiet))
        assert members.waiting_on is not None
        members.waiting_on.set_result("!")
        await members.settled()
        assert members.sent == []

    asyncio.run(run())


def test_a_wrong_signature_is_invalid_argument_naming_both() -> None:
    members = Members()
    assert members.calls(_call("Upper", "as", [["a"]])) is True
    assert _answer(members) == (MessageType.ERROR, INVALID, ["Upper expects (s), got (as)"])


def test_a_call_without_interface_is_matched_by_member() -> None:
    async def run() -> None:
        members = Members()
        assert members.calls(_call("Upper", "", [], interface=None)) is True
        assert _answer(members) == (MessageType.ERROR, INVALID, ["Upper expects (s), got ()"])
        members.sent.clear()
        assert members.calls(_call("UpperLater", body=["a"], interface=None)) is True
        assert _answer(members) == (MessageType.METHOD_RETURN, None, ["A"])

    asyncio.run(run())


def test_what_is_not_ours_to_answer_goes_on_to_dbus_fast() -> None:
    members = Members()
    assert members.calls(_call("NoSuchMember")) is None  # UnknownMethod, from dbus-fast
    assert members.calls(_call("Upper", interface=PLUGIN_INTERFACE)) is None  # not on that interface
    assert members.calls(_call("Upper", path="/elsewhere")) is None
    assert members.calls(_call("Introspect", "", [], interface="org.freedesktop.DBus.Introspectable")) is None
    signal = Message(message_type=MessageType.SIGNAL, path=OBJECT_PATH, interface=CORE_INTERFACE,
                     member="Upper", signature="s", body=["x"])
    assert members.calls(signal) is None
    assert members.sent == []
