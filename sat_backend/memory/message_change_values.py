"""The values of message changes (reactions, corrections, retractions) that the core and
the plugins handle, apart from the SQL that stores them.

:mod:`.message_changes_storage` builds Core statements at import, so importing it
imports SQLAlchemy; the modules a start loads (the core's message handling, the
plugins of XEP-0308, 0333, 0424, 0444, MUC moderation) only need these types, and
import them from here (doc/developer.rst, start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReceivedChange:
    """A change someone sent to a message: applied, or kept until its message arrives."""

    kind: str
    reference_id: str
    #: bare JIDs
    sender: str
    recipient: str
    data: dict[str, Any]
    timestamp: float


def aggregate_reactions(rows: Any) -> dict[str, list[str]]:
    """``{emoji: [bare JIDs]}`` from reaction rows (emojis and JIDs sorted, for stable output)."""
    by_emoji: dict[str, list[str]] = {}
    for row in rows:
        for emoji in row.reactions:
            by_emoji.setdefault(emoji, []).append(row.sender)
    return {emoji: sorted(senders) for emoji, senders in sorted(by_emoji.items())}


__all__ = ["ReceivedChange", "aggregate_reactions"]
