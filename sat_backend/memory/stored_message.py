"""Messages as storage hands them out: typed, frozen values, never ORM rows.

:class:`StoredMessage` is the ``history`` row alone (what the changes of XEP-0308,
XEP-0424 and XEP-0444 need to find and check a message); :class:`HistoryMessage` adds
its texts, reactions and previous versions (what the history the bridge returns shows).
The core and plugins read these; the conversion from the mapping happens here, in the
storage layer (:func:`stored_message`, :func:`history_message`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sat_backend.memory.sqla_mapping import History


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message of the history, without its texts."""

    id: str
    timestamp: float
    #: bare JIDs, and the resources apart
    source: str
    dest: str
    type: str
    source_res: str | None = None
    dest_res: str | None = None
    #: XEP-0359 ids: given by the archive, by the sender
    stanza_id: str | None = None
    origin_id: str | None = None
    #: the ``id`` attribute of the sender's stanza
    message_id: str | None = None
    received_timestamp: float | None = None
    extra: dict[str, Any] | None = None
    #: XEP-0424: when it was retracted (a tombstone: no text left)
    retracted: float | None = None


@dataclass(frozen=True, slots=True)
class Reaction:
    """The reactions (XEP-0444) of one sender to a message, as its last stanza set them."""

    sender: str
    reactions: tuple[str, ...]
    timestamp: float


@dataclass(frozen=True, slots=True)
class PreviousVersion:
    """A text a correction (XEP-0308) replaced, by language, and when."""

    bodies: dict[str, Any]
    replaced: float


@dataclass(frozen=True, slots=True)
class HistoryMessage(StoredMessage):
    """A message with its texts by language ("" = no language), reactions and previous
    versions (oldest first)."""

    bodies: dict[str, str] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)
    reactions: tuple[Reaction, ...] = ()
    versions: tuple[PreviousVersion, ...] = ()


def _row_fields(entry: History) -> dict[str, Any]:
    return {"id": entry.id, "timestamp": entry.timestamp, "source": entry.source, "dest": entry.dest,
            "type": entry.type, "source_res": entry.source_res, "dest_res": entry.dest_res,
            "stanza_id": entry.stanza_id, "origin_id": entry.origin_id, "message_id": entry.message_id,
            "received_timestamp": entry.received_timestamp, "extra": entry.extra, "retracted": entry.retracted}


def stored_message(entry: History) -> StoredMessage:
    """The row alone (its relationships are not read)."""
    return StoredMessage(**_row_fields(entry))


def history_message(entry: History) -> HistoryMessage:
    """The row and its children (loaded with it)."""
    return HistoryMessage(
        **_row_fields(entry),
        bodies={message.language or "": message.message for message in entry.messages},
        subjects={subject.language or "": subject.subject for subject in entry.subjects},
        reactions=tuple(Reaction(row.sender, tuple(row.reactions), row.timestamp) for row in entry.reactions),
        versions=tuple(sorted((PreviousVersion(version.bodies, version.replaced) for version in entry.versions),
                              key=lambda version: version.replaced)),
    )
