"""Bridge clients for frontends and tests: async and sync proxies generated from the spec.

Frontends import only this module (and :mod:`sat_bridge.errors`): every method of the
spec is an attribute named in snake_case (``await client.profile_create(...)``), every
D-Bus error comes back as the matching :class:`~sat_bridge.errors.BridgeError`, and
signals are delivered to callbacks registered with :meth:`AsyncBridgeClient.on_signal`.

Calls use the spec's signatures directly (no introspection round trip), which is why a
bridge call costs little more than a raw dbus-fast call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Coroutine, TypeVar

from dbus_fast import BusType, Message, MessageType, introspection
from dbus_fast.errors import InvalidMessageError, SignatureBodyMismatchError
from dbus_fast.aio import MessageBus

from sat_bridge import dbus_writer
from sat_bridge.errors import BridgeError, InvalidArgument, error_from_dbus
from sat_bridge.spec import (
    BUS_NAME,
    Arg,
    INTERFACE_NAMES,
    OBJECT_PATH,
    BridgeSpec,
    Method,
    full_spec,
)

log = logging.getLogger(__name__)

#: default time a call may take before :class:`BridgeUnavailable` is raised
DEFAULT_TIMEOUT = 120.0

#: D-Bus daemon errors meaning "nobody is serving the bridge"
_UNAVAILABLE = {
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.Spawn.ChildExited",
    "org.freedesktop.DBus.Error.Spawn.Failed",
    "org.freedesktop.DBus.Error.Spawn.ExecFailed",
    "org.freedesktop.DBus.Error.TimedOut",
    "org.freedesktop.DBus.Error.Disconnected",
}


class BridgeUnavailable(BridgeError):
    """The backend is not running and could not be started, or the bus is unreachable.

    Client-side only: it never crosses the wire, so frontends can tell "the backend said
    no" from "there is no backend".
    """

    name = "Unavailable"


SignalCallback = Callable[..., Any]
T = TypeVar("T")


class AsyncBridgeClient:
    """asyncio proxy of the bridge. Create it with :meth:`open_bus`."""

    def __init__(self, bus: MessageBus, spec: BridgeSpec) -> None:
        self.bus = bus
        self.spec = spec
        self._signal_callbacks: dict[str, list[SignalCallback]] = {}
        self._match_added = False
        self._closed = False
        bus.add_message_handler(self._on_message)

    if TYPE_CHECKING:
        # the snake_case methods are generated from the spec at import time (see
        # _add_generated_methods); tell the type checker they exist
        def __getattr__(self, name: str) -> Callable[..., Any]: ...

    @classmethod
    async def open_bus(
        cls, bus_address: str | None = None, spec: BridgeSpec | None = None
    ) -> AsyncBridgeClient:
        """Connect to the session bus (or ``bus_address``).

        :raises BridgeUnavailable: no session bus can be reached.
        """
        patched = dbus_writer.install()
        try:
            if bus_address:
                bus = MessageBus(bus_address=bus_address)
            else:
                bus = MessageBus(bus_type=BusType.SESSION)
            await bus.connect()
        except Exception as exc:  # noqa: BLE001 - any failure here means "no bus"
            raise BridgeUnavailable(f"cannot connect to the session bus: {exc}") from exc
        if patched:  # (dbus-fast's own writer writes at once)
            dbus_writer.send_at_once(bus)  # one call, then its answer: nothing to gather
        return cls(bus, spec if spec is not None else full_spec())

    async def call(self, name: str, *args: Any, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """Call the member ``name`` (CamelCase) with positional arguments.

        :raises BridgeError: the typed error the backend answered.
        :raises BridgeUnavailable: no backend, or no answer within ``timeout`` seconds.
        """
        method = await self.find_method(name)
        message = _call_message(name, method, args)
        try:
            # not wait_for: it runs the call in a task of its own (≈ 20 µs a call)
            async with asyncio.timeout(timeout):
                reply = await self._bus_call(message, name)
        except asyncio.TimeoutError as exc:
            raise _no_answer(name, timeout) from exc
        return _answer(method, reply)

    async def find_method(self, name: str) -> Method:
        """The spec of method ``name``, learnt from the backend if this client lacks it
        (a member a third-party plugin declared at run time).

        :raises InvalidArgument: the backend has no such method.
        """
        method = self.spec.members.get(name)
        if method is None:
            await self.learn_members()
            method = self.spec.members.get(name)
        if not isinstance(method, Method):
            raise InvalidArgument(f"the bridge has no method named {name!r}")
        return method

    async def learn_members(self) -> None:
        """Add to our spec the members the running backend exports but this release of
        the client does not know (declared by third-party plugins), via introspection."""
        reply = await self._bus_call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface="org.freedesktop.DBus.Introspectable",
                member="Introspect",
            ),
            "the backend's introspection",
        )
        if reply.message_type == MessageType.ERROR:
            raise BridgeUnavailable("cannot introspect the SàT backend: is it running?")
        node = introspection.Node.parse(reply.body[0])
        kinds = {name: kind for kind, name in INTERFACE_NAMES.items()}
        for interface in node.interfaces:
            kind = kinds.get(interface.name)
            if kind is None:
                continue
            for remote in interface.methods:
                if remote.name in self.spec:
                    continue
                self.spec.add(
                    Method(
                        remote.name,
                        kind,
                        tuple(
                            Arg(arg.name or f"arg{i}", str(arg.signature))
                            for i, arg in enumerate(remote.in_args)
                        ),
                        remote.out_signature,
                        "(learnt by introspection)",
                    )
                )

    async def on_signal(self, name: str, callback: SignalCallback) -> None:
        """Call ``callback(*args)`` each time the backend emits signal ``name``."""
        if not self._match_added:
            await self._add_match()
        self._signal_callbacks.setdefault(name, []).append(callback)

    async def _add_match(self) -> None:
        rule = f"type='signal',sender='{BUS_NAME}',path='{OBJECT_PATH}'"
        reply = await self._bus_call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=[rule],
            ),
            "the bus to listen to signals",
        )
        if reply.message_type == MessageType.ERROR:
            raise BridgeUnavailable(f"cannot listen to bridge signals: {reply.body}")
        self._match_added = True

    async def _bus_call(self, message: Message, what: str) -> Message:
        """:meth:`_start_call` awaited: the reply, or its error raised."""
        replied: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._start_call(message, what, _settling(replied))
        return await replied

    def _start_call(self, message: Message, what: str, settle: _Settle) -> None:
        """Send a method call (on the loop's thread); ``settle(reply, None)`` or
        ``settle(None, error)`` runs once its reply or its failure is known.

        dbus-fast's callback API (``_call``, what its ``MessageBus.call`` runs under a
        future) rather than a coroutine, so that the blocking client hands a call to the
        loop without a task and its steps (≈ 130 µs of a blocking ``GetVersion``, issue 14).
        Failures are mapped here, for both clients: when the bus goes away (our
        :meth:`close`, or the daemon), dbus-fast fails the calls still waiting with a
        bare ``EOFError`` (or ``None`` after a clean disconnect) and later ones with
        ``OSError``: frontends catch one error for "no backend", :class:`BridgeUnavailable`.
        D-Bus refusing the arguments (a NUL in a string, a value of the wrong type) is
        :class:`~sat_bridge.errors.InvalidArgument`.
        """
        if self._closed:
            settle(None, BridgeUnavailable(f"{what}: this bridge client is closed"))
            return
        if not self.bus.connected:
            settle(None, BridgeUnavailable(f"{what}: the session bus connection is lost"))
            return

        def replied(reply: Message | None, error: BaseException | None) -> None:
            if error is not None:
                settle(None, self._gone(what, error) or error)
            elif reply is None:  # dbus-fast answers None to a call cut by a clean disconnect
                settle(None, self._gone(what, None)
                       or BridgeUnavailable(f"the bus connection ended while waiting for {what}"))
            else:
                settle(reply, None)

        try:
            self.bus._call(message, replied)
        except (InvalidMessageError, SignatureBodyMismatchError) as exc:
            settle(None, InvalidArgument(f"{what}: {exc}"))
        except Exception as exc:  # noqa: BLE001 - handed to the caller, mapped if the bus is gone
            settle(None, self._gone(what, exc) or exc)

    def _gone(self, what: str, error: BaseException | None) -> BridgeUnavailable | None:
        """The error of a call cut because the client closed or the bus went away, if so."""
        if self._closed:
            return BridgeUnavailable(f"the bridge client was closed while waiting for {what}")
        if not self.bus.connected:
            return BridgeUnavailable(f"the bus went away while waiting for {what}: {error!r}")
        return None

    def _on_message(self, message: Message) -> bool | None:
        if (
            message.message_type != MessageType.SIGNAL
            or message.path != OBJECT_PATH
            or message.interface not in INTERFACE_NAMES.values()
        ):
            return None
        for callback in self._signal_callbacks.get(message.member or "", []):
            try:
                callback(*message.body)
            except Exception:  # noqa: BLE001 - a frontend bug must not kill the client
                log.exception("signal callback for %s failed", message.member)
        return None

    async def close(self) -> None:
        """Disconnect; calls still waiting for their reply raise :class:`BridgeUnavailable`,
        and so do calls made afterwards."""
        if self._closed:
            return
        self._closed = True
        dbus_writer.flush(self.bus)
        self.bus.disconnect()
        try:
            await self.bus.wait_for_disconnect()
        except (EOFError, OSError):
            pass  # the daemon closed the socket first: disconnected all the same


class BridgeClient:
    """Blocking proxy of the bridge for scripts and tests.

    It runs its own asyncio loop in a daemon thread; calls block the caller until the
    answer arrives, and signal callbacks run in that thread. Calls may come from several
    threads; :meth:`close` ends those still waiting with :class:`BridgeUnavailable`.
    """

    def __init__(self, bus_address: str | None = None, spec: BridgeSpec | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        #: guards _closed and _waiting: a call is either refused or seen by close()
        self._lock = threading.Lock()
        self._closed = False
        #: the calls submitted to the loop and not answered yet, for close() to end
        self._waiting: set[Future[Any]] = set()
        self._thread = threading.Thread(target=self._serve, name="sat-bridge", daemon=True)
        self._thread.start()
        try:
            self._async = self._run(AsyncBridgeClient.open_bus(bus_address, spec), "the session bus")
        except BaseException:
            self._closed = True
            self._stop_loop()
            raise
        self.spec = self._async.spec

    if TYPE_CHECKING:
        # the snake_case methods are generated from the spec at import time (see
        # _add_generated_methods); tell the type checker they exist
        def __getattr__(self, name: str) -> Callable[..., Any]: ...

    def _serve(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _submitted(self, what: str, submit: Callable[[], Future[T]]) -> Future[T]:
        """The future of the work ``submit`` hands to the loop, for :meth:`close` to end
        if it is still waited on then.

        :raises BridgeUnavailable: the client is closed, or its loop is (its thread ends:
            handing work over then raises ``RuntimeError``).
        """
        with self._lock:
            if self._closed or not self._thread.is_alive():
                raise BridgeUnavailable(f"{what}: this bridge client is closed")
            try:
                future = submit()
            except RuntimeError as exc:
                raise BridgeUnavailable(f"{what}: this bridge client is closed") from exc
            self._waiting.add(future)
        return future

    def _run(self, coroutine: Coroutine[Any, Any, T], what: str) -> T:
        try:
            future = self._submitted(what, lambda: asyncio.run_coroutine_threadsafe(coroutine, self._loop))
        except BridgeUnavailable:
            coroutine.close()
            raise
        try:
            return future.result()
        except concurrent.futures.CancelledError as exc:  # close() ended it
            raise BridgeUnavailable(f"the bridge client was closed while waiting for {what}") from exc
        finally:
            with self._lock:
                self._waiting.discard(future)

    def call(self, name: str, *args: Any, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """Blocking :meth:`AsyncBridgeClient.call`.

        A method the spec knows is handed to the loop as a callback
        (:meth:`AsyncBridgeClient._start_call`), without a task; one it does not know yet
        (a third-party plugin's) goes through the coroutine, which learns it first.
        """
        method = self._async.spec.members.get(name)
        if not isinstance(method, Method):
            return self._run(self._async.call(name, *args, timeout=timeout), name)
        message = _call_message(name, method, args)
        replied: Future[Message] = Future()

        def submit() -> Future[Message]:
            self._loop.call_soon_threadsafe(self._async._start_call, message, name, _settling(replied))
            return replied

        self._submitted(name, submit)
        try:
            reply = replied.result(timeout)
        except concurrent.futures.TimeoutError as exc:
            raise _no_answer(name, timeout) from exc
        finally:
            with self._lock:
                self._waiting.discard(replied)
        return _answer(method, reply)

    def on_signal(self, name: str, callback: SignalCallback) -> None:
        self._run(self._async.on_signal(name, callback), f"the {name} subscription")

    def close(self) -> None:
        """Disconnect and stop the loop. Calls still waiting in other threads, and calls
        made afterwards, raise :class:`BridgeUnavailable`. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if threading.current_thread() is self._thread:
            # from a signal callback: waiting here would block the loop that must do the work
            task = self._loop.create_task(self._shutdown())
            task.add_done_callback(lambda _task: self._loop.stop())
            return
        try:
            # submitted after every call _run let through: their tasks exist when it runs
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        except (concurrent.futures.TimeoutError, RuntimeError):
            log.warning("bridge client: the loop did not shut down cleanly", exc_info=True)
        finally:
            self._stop_loop()

    async def _shutdown(self) -> None:
        """Run on the loop: cancel the calls in flight and let the cancellations be
        processed (stopping the loop in the same iteration would leave them pending, and
        their callers waiting forever), then disconnect."""
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._async.close()

    def _stop_loop(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self._loop.stop)
        except RuntimeError:
            pass  # the loop is closed already: its thread has ended
        self._thread.join(5)
        # a call the loop did not end (it was stuck) still returns
        with self._lock:
            waiting = list(self._waiting)
        closed = BridgeUnavailable("the bridge client was closed while waiting for a reply")
        for future in waiting:
            try:
                future.set_exception(closed)
            except concurrent.futures.InvalidStateError:
                pass  # ended meanwhile

    def __enter__(self) -> BridgeClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


#: what :meth:`AsyncBridgeClient._start_call` calls once: (reply, None) or (None, error)
_Settle = Callable[[Message | None, BaseException | None], None]


def _settling(replied: asyncio.Future[Message] | Future[Message]) -> _Settle:
    """The :data:`_Settle` of a call whose caller waits on ``replied``: left as it is once
    something else ended it (the caller's timeout, or :meth:`BridgeClient.close`)."""

    def settle(reply: Message | None, error: BaseException | None) -> None:
        try:
            if error is not None:
                replied.set_exception(error)
            else:
                replied.set_result(reply)  # type: ignore[arg-type]
        except (asyncio.InvalidStateError, concurrent.futures.InvalidStateError):
            pass  # ended first (a look before setting would race with close() in another thread)

    return settle


def _call_message(name: str, method: Method, args: tuple[Any, ...]) -> Message:
    """The D-Bus message of a call to ``method``.

    :raises TypeError: not as many arguments as the method takes.
    """
    if len(args) != len(method.args):
        raise TypeError(f"{name} takes {len(method.args)} arguments, got {len(args)}")
    return Message(
        destination=BUS_NAME,
        path=OBJECT_PATH,
        interface=INTERFACE_NAMES[method.interface],
        member=name,
        signature=method.in_signature,
        body=list(args),
    )


def _answer(method: Method, reply: Message) -> Any:
    """What a call returns from its reply.

    :raises BridgeError: the typed error the backend answered.
    :raises BridgeUnavailable: the bus daemon answered that nobody serves the bridge.
    """
    if reply.message_type == MessageType.ERROR:
        text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
        error_name = reply.error_name or ""
        if error_name in _UNAVAILABLE:
            raise BridgeUnavailable(f"the SàT backend is not available: {text or error_name}")
        raise error_from_dbus(error_name, text)
    if not method.out:
        return None
    return reply.body[0]


def _no_answer(name: str, timeout: float | None) -> BridgeUnavailable:
    return BridgeUnavailable(f"{name}: no answer from the backend in {timeout:g} s")


def _add_generated_methods() -> None:
    """Give both clients one snake_case method per spec method, with the spec's docs."""
    for method in full_spec().methods():
        for cls in (AsyncBridgeClient, BridgeClient):
            existing = cls.__dict__.get(method.python_name)
            if existing is not None and not getattr(existing, "_generated", False):
                raise TypeError(f"bridge member {method.name} would hide {cls.__name__}.{method.python_name}")
        setattr(AsyncBridgeClient, method.python_name, _async_proxy(method))
        setattr(BridgeClient, method.python_name, _sync_proxy(method))


def _async_proxy(method: Method) -> Callable[..., Any]:
    async def proxy(self: AsyncBridgeClient, *args: Any, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        return await self.call(method.name, *args, timeout=timeout)

    _describe(proxy, method)
    return proxy


def _sync_proxy(method: Method) -> Callable[..., Any]:
    def proxy(self: BridgeClient, *args: Any, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        return self.call(method.name, *args, timeout=timeout)

    _describe(proxy, method)
    return proxy


def _describe(proxy: Callable[..., Any], method: Method) -> None:
    proxy.__name__ = method.python_name
    proxy._generated = True  # type: ignore[attr-defined]
    arg_names = ", ".join(arg.name for arg in method.args)
    proxy.__doc__ = f"{method.name}({arg_names}): {method.doc}"


_add_generated_methods()
