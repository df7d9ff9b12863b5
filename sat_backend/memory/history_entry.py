"""A message on its way into history, as plain typed data.

Building the ORM's ``History`` with its ``Message``/``Subject`` children costs more than
the three inserts that store it (instrumented attributes, collections); storage inserts
these fields with Core statements instead (:meth:`~sat_backend.memory.sqla.Storage.add_to_history`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the widths of the history's columns of ids (``stanza_id``, ``origin_id``,
#: ``message_id``, a change's ``reference_id``) and of languages: PostgreSQL refuses a
#: longer value, so what comes from a peer is bounded before it gets here
ID_LENGTH = 255
LANGUAGE_LENGTH = 35


@dataclass(slots=True)
class HistoryEntry:
    """The ``history`` row of a message, and its texts by language ("" = no language)."""

    id: str
    timestamp: float
    source: str
    dest: str
    type: str
    bodies: dict[str, str]
    subjects: dict[str, str]
    source_res: str | None = None
    dest_res: str | None = None
    stanza_id: str | None = None
    origin_id: str | None = None
    message_id: str | None = None
    received_timestamp: float | None = None
    extra: dict[str, Any] | None = None

    def row(self) -> dict[str, Any]:
        """The ``history`` columns (``profile_id`` aside)."""
        return {
            "id": self.id, "timestamp": self.timestamp, "source": self.source, "dest": self.dest,
            "type": self.type, "source_res": self.source_res, "dest_res": self.dest_res,
            "stanza_id": self.stanza_id, "origin_id": self.origin_id, "message_id": self.message_id,
            "received_timestamp": self.received_timestamp, "extra": self.extra, "retracted": None,
        }

    def bodies_rows(self) -> list[dict[str, Any]]:
        return [{"history_id": self.id, "message": text, "language": lang or None} for lang, text in self.bodies.items()]

    def subjects_rows(self) -> list[dict[str, Any]]:
        return [{"history_id": self.id, "subject": text, "language": lang or None}
                for lang, text in self.subjects.items()]
