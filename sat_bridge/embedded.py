"""In-process bridge: the backend's members called directly, for unit tests of the core.

It goes through the same :class:`~sat_bridge.dispatch.BridgeDispatcher` path as the D-Bus
service (error mapping included) and checks arguments against the spec's signatures, so
a core test that passes here fails for the same reasons over D-Bus.
"""

from __future__ import annotations

from typing import Any, Callable

from sat_bridge.dispatch import BridgeDispatcher
from sat_bridge.errors import InvalidArgument
from sat_bridge.spec import BridgeSpec, Method

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "s": (str,),
    "o": (str,),
    "g": (str,),
    "b": (bool,),
    "d": (float, int),
    "y": (int,),
    "n": (int,),
    "q": (int,),
    "i": (int,),
    "u": (int,),
    "x": (int,),
    "t": (int,),
    "a": (list, tuple, dict),
    "(": (list, tuple),
    "v": (object,),
}


class EmbeddedBridge(BridgeDispatcher):
    """A bridge whose "frontend" is the test calling :meth:`call`."""

    def __init__(self, spec: BridgeSpec | None = None) -> None:
        super().__init__(spec)
        self._listeners: dict[str, list[Callable[..., Any]]] = {}
        #: every emitted signal, in order, for assertions
        self.emitted: list[tuple[str, tuple[Any, ...]]] = []

    async def start(self) -> None:
        """Nothing to connect: present for symmetry with the D-Bus bridge."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def call(self, name: str, *args: Any) -> Any:
        """Call an exported member as a frontend would, with the same typed errors."""
        method = self.spec.members.get(name)
        if not isinstance(method, Method) or name not in self.implementations:
            raise InvalidArgument(f"{name!r} is not an exported bridge method")
        _check_arguments(method, args)
        if method.is_async:
            return await self.run_async(method, args)
        return self.run_sync(method, args)

    def on_signal(self, name: str, callback: Callable[..., Any]) -> None:
        self._listeners.setdefault(name, []).append(callback)

    def emit(self, name: str, *args: Any) -> None:
        self.check_signal(name, args)
        self.emitted.append((name, args))
        for callback in self._listeners.get(name, []):
            callback(*args)


def _check_arguments(method: Method, args: tuple[Any, ...]) -> None:
    """Reject what D-Bus itself would reject: wrong arity or wrong top-level types."""
    if len(args) != len(method.args):
        raise InvalidArgument(f"{method.name} takes {len(method.args)} arguments, got {len(args)}")
    for spec_arg, value in zip(method.args, args):
        expected = _PYTHON_TYPES[spec_arg.signature[0]]
        if not isinstance(value, expected) or (expected == (int,) and isinstance(value, bool)):
            raise InvalidArgument(
                f"{method.name}: argument {spec_arg.name!r} must be D-Bus type {spec_arg.signature!r}"
            )
