"""The bridge on the session D-Bus: dbus-fast ``ServiceInterface`` classes built from the spec.

One interface object per contract interface (Core, Plugin) is generated when the
backend is ready, from the members it registered, then exported at
:data:`~sat_bridge.spec.OBJECT_PATH` before the well-known name is requested, so that a
D-Bus activated call is only delivered to a fully initialised backend.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Callable

from dbus_fast import BusType, DBusError, Message, NameFlag, RequestNameReply
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

from sat_bridge import dbus_writer
from sat_bridge.dispatch import BridgeDispatcher
from sat_bridge.errors import ERROR_PREFIX, Conflict, Internal, shorten
from sat_bridge.method_calls import MethodCalls
from sat_bridge.spec import (
    BUS_NAME,
    INTERFACE_NAMES,
    OBJECT_PATH,
    BridgeSpec,
    InterfaceKind,
    Method,
    Signal,
)

log = logging.getLogger(__name__)


class DBusBridge(BridgeDispatcher):
    """Serves the registered members on the session bus under ``org.salutatoi.SAT1``."""

    def __init__(
        self,
        spec: BridgeSpec | None = None,
        bus_address: str | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        """:param on_lost: called once if the bus connection ends without :meth:`stop`
            (the daemon went away, or the connection broke): the process no longer owns
            its name and must not linger, so the launcher stops it with an error code."""
        super().__init__(spec)
        self.bus_address = bus_address
        self.on_lost = on_lost
        self.bus: MessageBus | None = None
        self.interfaces: dict[InterfaceKind, ServiceInterface] = {}
        #: exported signal → (interface name, signature): what :meth:`emit` puts in the message
        self._signal_routes: dict[str, tuple[str, str]] = {}
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect, export the interfaces and take the well-known name.

        :raises Conflict: another process already owns ``org.salutatoi.SAT1``.
        """
        dbus_writer.install()
        if self.bus_address:
            bus = MessageBus(bus_address=self.bus_address)
        else:
            bus = MessageBus(bus_type=BusType.SESSION)
        self.bus = await bus.connect()
        self.bus.add_message_handler(MethodCalls(self, self.exported_methods(), self.bus.send))
        for kind in INTERFACE_NAMES:
            interface = self._build_interface(kind)
            self.interfaces[kind] = interface
            self.bus.export(OBJECT_PATH, interface)
        reply = await self.bus.request_name(BUS_NAME, NameFlag.DO_NOT_QUEUE)
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            self.bus.disconnect()
            raise Conflict(f"another backend already owns {BUS_NAME} on this bus")
        self._watch = asyncio.ensure_future(self._watch_connection(self.bus))
        log.info("bridge ready on the session bus as %s", BUS_NAME)

    async def _watch_connection(self, bus: MessageBus) -> None:
        try:
            await bus.wait_for_disconnect()
            reason = "the bus closed it"
        except Exception as exc:  # noqa: BLE001 - any end of the connection is reported the same way
            reason = shorten(f"{type(exc).__name__}: {exc}", 200)
        if self.bus is not bus:
            return  # stop() ended it
        self.bus = None
        log.error(
            "lost the session bus connection (%s): %s is no longer ours, stopping so that D-Bus "
            "activation or the service manager can start a new backend",
            reason, BUS_NAME,
        )
        if self.on_lost is not None:
            self.on_lost()

    async def stop(self) -> None:
        if self.bus is not None:
            bus, self.bus = self.bus, None
            dbus_writer.flush(bus)
            bus.disconnect()
            try:
                await bus.wait_for_disconnect()
            except (EOFError, OSError):
                pass  # the bus closed the socket first: disconnected all the same

    def emit(self, name: str, *args: Any) -> None:
        """Emit a declared, enabled signal to every frontend.

        The message is built here rather than by calling the exported interface's
        signal method: that path costs several times the marshalling (a look for file
        descriptors through the signature on every call, a search of the exported
        paths), and no signal of ours carries a descriptor or a variant
        (:func:`_routable`); the message sent is the same."""
        signal = self.check_signal(name, args)
        interface = self.interfaces.get(signal.interface)
        if interface is None:
            log.debug("signal %s dropped: bridge not started", name)
            return
        route = self._signal_routes.get(name)
        if route is None:
            getattr(interface, signal.python_name)(*args)
            return
        if self.bus is None:
            log.debug("signal %s dropped: bus connection closed", name)
            return
        self.bus.send(Message.new_signal(OBJECT_PATH, route[0], name, route[1], list(args)))

    def _build_interface(self, kind: InterfaceKind) -> ServiceInterface:
        namespace: dict[str, Any] = {}
        for method in self.exported_methods():
            if method.interface == kind:
                namespace[method.python_name] = dbus_method(name=method.name)(_introspected(method))
        for signal in self.exported_signals():
            if signal.interface == kind:
                namespace[signal.python_name] = dbus_signal(name=signal.name)(
                    _signal_handler(signal)
                )
                if _routable(signal.signature):
                    self._signal_routes[signal.name] = (INTERFACE_NAMES[kind], signal.signature)
        class_name = f"{kind.capitalize()}Interface"
        interface_class = type(class_name, (ServiceInterface,), namespace)
        return interface_class(INTERFACE_NAMES[kind])  # type: ignore[no-any-return]


def _introspected(method: Method) -> Callable[..., Any]:
    """What dbus-fast exports for ``method``: its introspection (names and signatures of
    its arguments). Its calls never get here: :class:`~sat_bridge.method_calls.MethodCalls`,
    the bus's message handler, answers every one first."""

    def handler(_interface: ServiceInterface, *args: Any) -> Any:
        raise DBusError(ERROR_PREFIX + Internal.name, f"{method.name} is answered by the bridge's message handler")

    handler.__name__ = method.python_name
    handler.__doc__ = method.doc
    handler.__signature__ = _signature(method.args, method.out)  # type: ignore[attr-defined]
    return handler


def _signal_handler(signal: Signal) -> Callable[..., Any]:
    def handler(_interface: ServiceInterface, *args: Any) -> Any:
        return args if len(args) != 1 else args[0]

    handler.__name__ = signal.python_name
    handler.__doc__ = signal.doc
    # dbus-fast reads a signal's arguments from its return annotation
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [_SELF, inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL)],
        return_annotation=signal.signature or inspect.Signature.empty,
    )
    return handler


def _routable(signature: str) -> bool:
    """Whether :meth:`DBusBridge.emit` may send the signal's message itself: no variant,
    which could hold a file descriptor to move out of the body (the spec refuses ``h``
    itself in every member)."""
    return "v" not in signature


_SELF = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _signature(args: tuple[Any, ...], out: str) -> inspect.Signature:
    """The Python signature dbus-fast inspects: each parameter annotated with its D-Bus type."""
    parameters = [_SELF] + [
        inspect.Parameter(arg.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=arg.signature)
        for arg in args
    ]
    return inspect.Signature(parameters, return_annotation=out or inspect.Signature.empty)
