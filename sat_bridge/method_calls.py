"""Calls of our methods, answered from the bus connection's message handler, each run at once.

dbus-fast runs a coroutine method as an asyncio Task: the Task's first step waits for a
turn of the loop, its end schedules two done callbacks (the reply, a clean-up), and the
reply goes through a ``SendReply`` context and the interface's result conversion. Most
of our calls never wait (``MessageSend`` on SQLite, what the caches answer), so
:class:`MethodCalls` runs each one's first step at once, as Python 3.12's eager tasks do:
a call that ends without waiting is answered in the same turn; one that waits goes on in
its Task, which answers when it ends (issue 14: about 40 µs of the ~160 µs a small async
call cost the backend, and a turn of the loop, went to that machinery). The Task is made
first and is the current task while that step runs: code that asks for its task
(``asyncio.timeout``, asyncpg's connect, a ``TaskGroup``) gets the one that runs the rest
of the call.

It also answers a call made with other argument types than the spec's with
``InvalidArgument`` naming both signatures: dbus-fast matches a call by member *and*
signature, and its ``UnknownMethod`` tells the caller nothing useful. Calls of members
we do not have, introspection and ``org.freedesktop.DBus.Peer`` go on to dbus-fast.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
# what asyncio's own tasks call around each step (Python 3.12's eager start swaps them the same way)
from asyncio.tasks import _enter_task, _leave_task
from collections.abc import Callable, Coroutine, Generator, Iterable
from functools import partial
from typing import Any

from dbus_fast import Message, MessageFlag, MessageType

from sat_bridge.dispatch import BridgeDispatcher
from sat_bridge.errors import BridgeError, Internal, InvalidArgument
from sat_bridge.spec import INTERFACE_NAMES, OBJECT_PATH, Method

log = logging.getLogger(__name__)


class MethodCalls:
    """The message handler that answers every call of an exported method.

    :param send: how a reply leaves (the bus's ``send``).
    """

    def __init__(self, dispatcher: BridgeDispatcher, methods: Iterable[Method],
                 send: Callable[[Message], object]) -> None:
        self._dispatcher = dispatcher
        self._send = send
        self._by_member: dict[tuple[str | None, str], Method] = {}
        for method in methods:
            self._by_member[(INTERFACE_NAMES[method.interface], method.name)] = method
            self._by_member[(None, method.name)] = method  # a call without an interface field
        #: the calls that wait, until they answer (the loop keeps only weak references)
        self._waiting: set[asyncio.Task[Any]] = set()

    def __call__(self, message: Message) -> bool | None:
        """True once the call is ours (answered, or to be answered when it ends); None
        for dbus-fast to handle."""
        if message.message_type is not MessageType.METHOD_CALL or message.path != OBJECT_PATH:
            return None
        method = self._by_member.get((message.interface, message.member or ""))
        if method is None:
            return None
        wants_reply = not message.flags & MessageFlag.NO_REPLY_EXPECTED
        if message.signature != method.in_signature:
            if wants_reply:
                self._send(_error(message, InvalidArgument(
                    f"{method.name} expects ({method.in_signature}), got ({message.signature})")))
            return True
        args = tuple(message.body)
        try:
            if method.is_async:
                self._start(message, method, args, wants_reply)
            elif wants_reply:
                self._answer(message, method, self._dispatcher.run_sync(method, args))
            else:
                self._dispatcher.run_sync(method, args)
        except BridgeError as error:  # the dispatcher turns every failure into one
            if wants_reply:
                self._send(_error(message, error))
        return True

    def _start(self, message: Message, method: Method, args: tuple[Any, ...], wants_reply: bool) -> None:
        """Run the call until it ends or first waits, in its Task; what waits goes on there.

        :raises BridgeError: it failed before waiting.
        """
        call = _Resumed(self._dispatcher.run_async(method, args))
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()  # the Task's: its first step runs in it too
        task = loop.create_task(call, context=context)
        try:
            context.run(call.first_step, loop, task)
        except StopIteration as ended:  # its Task ends at its own first step, already scheduled
            if wants_reply:
                self._answer(message, method, ended.value)
            return
        except asyncio.CancelledError:
            raise _cancelled(method) from None
        self._waiting.add(task)
        task.add_done_callback(partial(self._ended, message, method, wants_reply))

    def _ended(self, message: Message, method: Method, wants_reply: bool, task: asyncio.Task[Any]) -> None:
        self._waiting.discard(task)
        error = _cancelled(method) if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, BridgeError):
            # run_async maps every Exception: only a BaseException gets here
            log.error("%s ended with %s", method.name, type(error).__name__, exc_info=error)
            error = Internal(f"unexpected error in {method.name}; see the backend log")
        if not wants_reply:
            return
        if error is None:
            self._answer(message, method, task.result())
        else:
            self._send(_error(message, error))

    def _answer(self, message: Message, method: Method, result: Any) -> None:
        """Send the method's return; one its out signature cannot carry (a bug of the
        member) is logged, and the caller gets ``Internal``."""
        reply = Message.new_method_return(message, method.out, [result] if method.out else [])
        try:
            self._send(reply)
        except Exception:  # noqa: BLE001 - marshalling the result failed: the caller must still get an answer
            log.exception("%s returned what its out signature (%s) cannot carry", method.name, method.out)
            self._send(_error(message, Internal(f"{method.name} returned a value its signature cannot carry; "
                                                "see the backend log")))


def _error(message: Message, error: BridgeError) -> Message:
    return Message.new_error(message, error.dbus_name, error.message)


def _cancelled(method: Method) -> Internal:
    return Internal(f"{method.name} was cancelled (the backend is stopping)")


class _Resumed(Coroutine[Any, Any, Any]):
    """A call as the coroutine of its Task, whose first step :meth:`first_step` runs at
    once (the Task current meanwhile); the Task's own first step then gets what the call
    waits on (a future, or None for a bare turn of the loop), and its later steps go to
    the call, what it sends or throws when it wakes up (a cancellation included, even one
    that comes before the Task's first step). A call that ended in its first step ends
    its Task at the Task's first step."""

    def __init__(self, call: Coroutine[Any, Any, Any]) -> None:
        self._call = call
        self._waiting_on: Any = None
        self._started = False
        self._ended = False

    def first_step(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        """Run the call until it waits, with ``task`` as the loop's current task.

        :raises StopIteration: it ended, with its result.
        :raises BaseException: what it raised.
        """
        outer = asyncio.current_task(loop)  # a caller running in a task of its own (tests)
        if outer is not None:
            _leave_task(loop, outer)
        _enter_task(loop, task)
        try:
            self._waiting_on = self._call.send(None)
        except BaseException:
            self._ended = True
            raise
        finally:
            _leave_task(loop, task)
            if outer is not None:
                _enter_task(loop, outer)

    def send(self, value: Any) -> Any:
        if self._ended:
            raise StopIteration  # answered already
        if not self._started:
            self._started = True
            return self._waiting_on
        return self._call.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:  # type: ignore[override]
        if self._ended:
            raise typ if val is None else val
        if not self._started:
            self._started = True
            if isinstance(self._waiting_on, asyncio.Future):
                self._waiting_on.cancel()  # as Task.cancel() does to what its task waits on
        return self._call.throw(typ if val is None else val)

    def close(self) -> None:
        self._call.close()

    def __await__(self) -> Generator[Any, None, Any]:
        raise TypeError("only a Task runs this")
