"""Trigger points: named places in a workflow where plugins may act, or take over.

A plugin adds a callback to a point with a priority (higher runs first; equal priorities
keep registration order). Each callback may:

- return ``None``: the workflow goes on with the next trigger, then the normal path;
- return :class:`ShortCircuit(value)`: no later trigger runs and the workflow returns
  ``value`` instead of doing its normal work (how the pubsub cache answers a request
  from the database instead of the network);
- raise :class:`SkipOtherTriggers`: later triggers are skipped but the normal path runs.

Callbacks may be plain functions or coroutines; :meth:`TriggerManager.run` awaits both.
"""

from __future__ import annotations

import inspect
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
TriggerCallback = Callable[..., Any]

#: conventional priorities, so plugins need not invent numbers
PRIORITY_FIRST = 1000
PRIORITY_NORMAL = 0
PRIORITY_LAST = -1000


@dataclass(frozen=True)
class ShortCircuit(Generic[T]):
    """Returned by a trigger to end the workflow with ``value``."""

    value: T


class SkipOtherTriggers(Exception):
    """Raised by a trigger to stop the remaining triggers, not the workflow."""


@dataclass(order=True)
class _Registration:
    sort_key: tuple[int, int]
    callback: TriggerCallback = field(compare=False)


class TriggerManager:
    """All trigger points of one backend."""

    def __init__(self) -> None:
        self._points: dict[str, list[_Registration]] = {}
        self._counter = itertools.count()

    def add(self, point: str, callback: TriggerCallback, priority: int = PRIORITY_NORMAL) -> None:
        """Run ``callback`` at ``point``; ``priority`` orders callbacks, highest first."""
        registrations = self._points.setdefault(point, [])
        if any(r.callback == callback for r in registrations):
            raise ValueError(f"{callback!r} is already a trigger of {point!r}")
        registrations.append(_Registration((-priority, next(self._counter)), callback))
        registrations.sort()

    def remove(self, point: str, callback: TriggerCallback) -> None:
        """:raises KeyError: ``callback`` is not a trigger of ``point``."""
        registrations = self._points.get(point, [])
        for registration in registrations:
            if registration.callback == callback:
                registrations.remove(registration)
                return
        raise KeyError(f"{callback!r} is not a trigger of {point!r}")

    def callbacks(self, point: str) -> list[TriggerCallback]:
        """Callbacks of ``point`` in the order they run."""
        return [r.callback for r in self._points.get(point, [])]

    async def run(self, point: str, *args: Any, **kwargs: Any) -> ShortCircuit[Any] | None:
        """Run the triggers of ``point``.

        :returns: the :class:`ShortCircuit` a trigger returned (the caller returns its
            value instead of continuing), or ``None`` to continue normally.
        """
        for callback in list(self.callbacks(point)):
            try:
                result = callback(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except SkipOtherTriggers:
                return None
            if isinstance(result, ShortCircuit):
                return result
            if result is not None:
                log.warning("trigger %r at %r returned %r, ignored", callback, point, result)
        return None
