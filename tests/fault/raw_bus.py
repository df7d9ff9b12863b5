"""Raw D-Bus calls for the fuzz: any member, any signature, any body.

The bridge client refuses a call whose arguments do not match the spec, which is
exactly what the fuzz must send, so this helper builds dbus-fast ``Message``\\ s itself
and returns what came back (reply or error name) instead of raising.
It owns its event loop: every call is synchronous for the hypothesis test body.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from sat_bridge.spec import BUS_NAME, INTERFACE_NAMES, OBJECT_PATH, Method

#: a call that takes longer than this counts as "no reply" (a hung or dead backend)
CALL_TIMEOUT = 30.0
NO_REPLY = "(no reply)"


@dataclass(frozen=True)
class Outcome:
    """What one call got: ``error_name`` is None for a method return."""

    error_name: str | None
    text: str = ""
    body: tuple[Any, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error_name is None


class RawBus:
    """One connection to the bus, driven by its own private event loop."""

    def __init__(self, address: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.bus: MessageBus = self.loop.run_until_complete(_connect(address))

    def close(self) -> None:
        if self.bus.connected:
            self.bus.disconnect()
        self.loop.close()

    def call(self, method: Method, signature: str, body: Sequence[Any], member: str | None = None) -> Outcome:
        """Call ``member`` (default: ``method``'s name) on ``method``'s interface with any
        ``signature`` and ``body``."""
        message = _message(method, signature, body)
        if member is not None:
            message.member = member
        return self.loop.run_until_complete(self.send(message))

    async def send(self, message: Message) -> Outcome:
        return await self.send_on(self.bus, message)

    @staticmethod
    async def send_on(bus: MessageBus, message: Message) -> Outcome:
        try:
            reply = await asyncio.wait_for(bus.call(message), CALL_TIMEOUT)
        except (asyncio.TimeoutError, EOFError, OSError) as exc:
            return Outcome(NO_REPLY, f"{type(exc).__name__}: {exc}"[:200])
        if reply is None:
            return Outcome(NO_REPLY)
        return _outcome(reply)

    def owner_pid(self) -> int | None:
        """PID of the process owning ``org.salutatoi.SAT1`` on the bus, None when unowned."""
        owner = self._daemon_call("GetNameOwner", "s", [BUS_NAME])
        if owner is None:
            return None
        pid = self._daemon_call("GetConnectionUnixProcessID", "s", [owner])
        return int(pid) if pid is not None else None

    def _daemon_call(self, member: str, signature: str, body: list[Any]) -> Any:
        message = Message(
            destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus", member=member, signature=signature, body=body,
        )
        outcome = self.loop.run_until_complete(self.send(message))
        return outcome.body[0] if outcome.ok and outcome.body else None


async def _connect(address: str) -> MessageBus:
    """dbus-fast binds a bus to the running loop: build it inside the loop."""
    return await MessageBus(bus_address=address).connect()


@dataclass(frozen=True)
class BurstResult:
    """Outcomes of a burst; ``client_broke``: our own connection failed (dbus-fast's
    writer on our side), so the calls without an answer say nothing about the backend."""

    outcomes: list[Outcome]
    client_broke: bool


def burst(address: str, big_calls: Sequence[tuple[Method, str, Sequence[Any]]], small_call: tuple[Method, str],
          small_count: int) -> BurstResult:
    """The ``big_calls`` then ``small_count`` times ``small_call``, all on one connection
    and all in flight at once, as one busy frontend would: the load that made dbus-fast's
    writer drop the backend's connection (the backend writes every answer to one reader).
    Outcomes of the big calls, then of the small ones.

    The big messages are written one after the other (dbus-fast's writer has the same
    flaw on our side: a partly written message followed by another one), their answers
    collected by serial.
    """

    async def run() -> BurstResult:
        bus = await MessageBus(bus_address=address).connect()
        answers: dict[int, asyncio.Future[Message]] = {}

        def on_message(message: Message) -> None:
            future = answers.get(message.reply_serial)
            if future is not None and not future.done():
                future.set_result(message)

        bus.add_message_handler(on_message)
        try:
            for call in big_calls:
                message = _message(*call)
                message.serial = bus.next_serial()
                answers[message.serial] = asyncio.get_running_loop().create_future()
                await bus.send(message)
            small = [RawBus.send_on(bus, _message(*small_call, ())) for _ in range(small_count)]
            everything = asyncio.gather(*(_answer(future) for future in answers.values()), *small)
            broken = asyncio.ensure_future(bus.wait_for_disconnect())
            await asyncio.wait([everything, broken], return_when=asyncio.FIRST_COMPLETED)
            if not everything.done():
                everything.cancel()
                lost = [Outcome(NO_REPLY, "our connection broke")] * (len(big_calls) + small_count)
                return BurstResult(lost, client_broke=True)
            broken.cancel()
            return BurstResult(list(everything.result()), client_broke=not bus.connected)
        except (EOFError, OSError) as exc:
            return BurstResult([Outcome(NO_REPLY, repr(exc))] * (len(big_calls) + small_count), client_broke=True)
        finally:
            if bus.connected:
                bus.disconnect()

    return asyncio.run(run())


async def _answer(future: asyncio.Future[Message]) -> Outcome:
    try:
        reply = await asyncio.wait_for(future, CALL_TIMEOUT)
    except asyncio.TimeoutError:
        return Outcome(NO_REPLY, "TimeoutError")
    return _outcome(reply)


def _message(method: Method, signature: str, body: Sequence[Any]) -> Message:
    return Message(destination=BUS_NAME, path=OBJECT_PATH, interface=INTERFACE_NAMES[method.interface],
                   member=method.name, signature=signature, body=list(body))


def _outcome(reply: Message) -> Outcome:
    if reply.message_type == MessageType.ERROR:
        text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
        return Outcome(reply.error_name or "(unnamed error)", text)
    return Outcome(None, body=tuple(reply.body))
