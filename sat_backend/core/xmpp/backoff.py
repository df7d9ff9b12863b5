"""Reconnection delays: exponential backoff with jitter, so that many clients cut off at
once (a server restart) do not all come back in the same second."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before each reconnection attempt; :meth:`reset` once connected."""

    initial: float = 1.0
    maximum: float = 300.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        """Between half and all of ``initial * factor**attempts`` (capped at ``maximum``)."""
        ceiling = min(self.maximum, self.initial * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        return ceiling * self.rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempts = 0
