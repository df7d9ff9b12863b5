"""Backend side of any bridge: which member is served by which callable, and how a call
runs (error mapping, logging without secrets).

The D-Bus service (:mod:`sat_bridge.service`) and the in-process bridge
(:mod:`sat_bridge.embedded`) both derive from :class:`BridgeDispatcher`, so the backend
registers its members once and behaves the same whichever bridge carries the calls.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable

from sat_bridge.arguments import check_arguments
from sat_bridge.errors import BridgeError, Internal, InvalidArgument, shorten
from sat_bridge.spec import BridgeSpec, Method, Signal, full_spec

log = logging.getLogger(__name__)

#: characters of one argument's repr in a log line
LOGGED_ARGUMENT_LENGTH = 80

Implementation = Callable[..., Any]
SignalListener = Callable[..., None]


class BridgeDispatcher:
    """Registry of member implementations plus the common call path."""

    def __init__(self, spec: BridgeSpec | None = None) -> None:
        #: known members (static spec of this release, plus what plugins add)
        self.spec = spec if spec is not None else full_spec()
        self.implementations: dict[str, Implementation] = {}
        self.enabled_signals: set[str] = set()

    # registration (backend side) ---------------------------------------------------

    def register_method(self, name: str, implementation: Implementation) -> None:
        """Serve the declared method ``name`` with ``implementation``.

        :raises ValueError: unknown member, a signal, or already registered.
        """
        member = self.spec.members.get(name)
        if not isinstance(member, Method):
            raise ValueError(f"{name!r} is not a declared bridge method")
        if name in self.implementations:
            raise ValueError(f"bridge method {name!r} is already registered")
        self.implementations[name] = implementation

    def enable_signal(self, name: str) -> None:
        """Make the declared signal ``name`` part of the exported interface."""
        if not isinstance(self.spec.members.get(name), Signal):
            raise ValueError(f"{name!r} is not a declared bridge signal")
        self.enabled_signals.add(name)

    def add_method(self, member: Method, implementation: Implementation) -> None:
        """Declare and serve a method at once: how a plugin adds a member of its own."""
        self.spec.add(member)
        self.register_method(member.name, implementation)

    def add_signal(self, member: Signal) -> None:
        """Declare and enable a signal at once (plugin-defined signals)."""
        self.spec.add(member)
        self.enable_signal(member.name)

    def exported_methods(self) -> list[Method]:
        return [m for m in self.spec.methods() if m.name in self.implementations]

    def exported_signals(self) -> list[Signal]:
        return [s for s in self.spec.signals() if s.name in self.enabled_signals]

    # running ------------------------------------------------------------------------

    def run_sync(self, method: Method, args: tuple[Any, ...]) -> Any:
        """Run a synchronous member; every failure becomes a :class:`BridgeError`."""
        try:
            check_arguments(method, args)
            return self.implementations[method.name](*args)
        except Exception as exc:  # noqa: BLE001 - mapped, never leaked raw
            raise self._as_bridge_error(method, args, exc) from exc

    async def run_async(self, method: Method, args: tuple[Any, ...]) -> Any:
        """Run a member as a coroutine; every failure becomes a :class:`BridgeError`."""
        try:
            check_arguments(method, args)
            result = self.implementations[method.name](*args)
            if inspect.isawaitable(result):
                result = await _await(result)
            return result
        except Exception as exc:  # noqa: BLE001 - mapped, never leaked raw
            raise self._as_bridge_error(method, args, exc) from exc

    def _as_bridge_error(
        self, method: Method, args: tuple[Any, ...], exc: Exception
    ) -> BridgeError:
        if isinstance(exc, BridgeError):
            log.debug("%s%s failed: %s: %s", method.name, redact(method, args), exc.name, exc)
            return exc
        if isinstance(exc, TypeError) and _is_argument_error(exc):
            return InvalidArgument(f"{method.name}: {exc}")
        log.error(
            "unexpected error in %s%s", method.name, redact(method, args), exc_info=exc
        )
        return Internal(f"unexpected error in {method.name} ({type(exc).__name__}); see the backend log")

    # what a transport provides (D-Bus service, embedded bridge) -------------------------

    async def start(self) -> None:
        """Start serving (take the bus name)."""
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    def emit(self, name: str, *args: Any) -> None:
        """Emit signal ``name`` to every frontend."""
        raise NotImplementedError

    def check_signal(self, name: str, args: tuple[Any, ...]) -> Signal:
        signal = self.spec.members.get(name)
        if not isinstance(signal, Signal) or name not in self.enabled_signals:
            raise ValueError(f"{name!r} is not an enabled bridge signal")
        if len(args) != len(signal.args):
            raise TypeError(f"signal {name} takes {len(signal.args)} arguments, got {len(args)}")
        return signal


def redact(member: Method | Signal, args: tuple[Any, ...]) -> str:
    """Arguments as they may appear in a log line: secrets and message text (``content``
    arguments) replaced by ``'***'``, every other value's repr cut to
    :data:`LOGGED_ARGUMENT_LENGTH` characters (a failed call once logged 1 MB lines)."""
    shown = (
        "***" if spec_arg.secret or spec_arg.content else shorten(repr(value), LOGGED_ARGUMENT_LENGTH)
        for spec_arg, value in zip(member.args, args)
    )
    return f"({', '.join(shown)})"


def _is_argument_error(exc: Exception) -> bool:
    """True for the TypeError that Python raises when a call has the wrong arity/keywords."""
    tb = exc.__traceback__
    return tb is not None and tb.tb_next is None


async def _await(awaitable: Awaitable[Any]) -> Any:
    """Await coroutines and Twisted Deferreds alike from an asyncio task.

    A bare ``await deferred`` inside an asyncio task fails ("Task got bad yield"), so
    Deferreds go through ``asFuture`` (house style, rule 4).
    """
    as_future = getattr(awaitable, "asFuture", None)
    if as_future is not None:
        import asyncio

        return await as_future(asyncio.get_running_loop())
    return await awaitable
