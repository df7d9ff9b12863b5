"""History in the archive's order where timestamps tie (XEP-0313 catch-up).

Archives stamp messages to the second (Prosody 0.12), so history breaks ties by arrival
(``received_timestamp``, see :meth:`~sat_backend.memory.sqla.Storage.get_history`), taken
when a row is first stored. A catch-up runs beside live (or offline) delivery; where both
bring every message, first storage follows the archive's order. A message that reaches us
only through the archive (delivered to another device meanwhile) arrives after later ones
of its second that came live. The catch-up reads the archive in its order, so it is the
one that knows: after each page it gives the page's messages of equal timestamp the
arrival times they already have, in archive order (a permutation within each second, so
nothing moves past a message of another second, nor past one that is not in the page).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import Table, bindparam, select, update

from sat_backend.core.exceptions import Database
from sat_backend.memory.sqla import Storage
from sat_backend.memory.tables import history

log = logging.getLogger(__name__)

#: messages of one second carried from a page to the next (their second may go on there);
#: a bound, not a guess: past it the oldest of a crowded second keep their arrival order
MAX_CARRIED = 500

_HISTORY: Table = history
_SET_ARRIVAL = update(_HISTORY).where(_HISTORY.c.id == bindparam("row_id")).values(
    received_timestamp=bindparam("arrival")
)


@dataclass(frozen=True)
class ArchivedMessage:
    """A message as a catch-up met it: its archive id, bare sender, timestamp, and
    whether the catch-up stored it (else it was stored before, by another path)."""

    stanza_id: str
    source: str
    timestamp: float
    new: bool


async def follow_archive_order(storage: Storage, profile: str, archived: Sequence[ArchivedMessage]) -> int:
    """Give the stored rows of ``archived`` (in archive order) arrival times following
    that order within each timestamp, in one transaction.

    :returns: how many rows changed.
    """
    keys = [(message.stanza_id, message.source) for message in archived]
    async with storage.writing() as connection:
        profile_id = await storage.profile_id(connection, profile)
        result = await connection.execute(
            select(_HISTORY.c.id, _HISTORY.c.stanza_id, _HISTORY.c.source, _HISTORY.c.timestamp,
                   _HISTORY.c.received_timestamp)
            .where(_HISTORY.c.profile_id == profile_id, _HISTORY.c.stanza_id.in_({key[0] for key in keys}),
                   _HISTORY.c.received_timestamp.is_not(None))
        )
        rows = {(row.stanza_id, row.source): row for row in result}
        seconds: dict[float, list[tuple[str, float]]] = {}  # timestamp → (row id, arrival), archive order
        for key in dict.fromkeys(keys):
            row = rows.get(key)
            if row is not None:
                seconds.setdefault(row.timestamp, []).append((row.id, row.received_timestamp))
        changes = [
            {"row_id": row_id, "arrival": arrival}
            for group in seconds.values()
            for (row_id, was), arrival in zip(group, sorted(stamp for _, stamp in group))
            if arrival != was
        ]
        if changes:
            await connection.execute(_SET_ARRIVAL, changes)
    return len(changes)


class CatchUpOrder:
    """What one catch-up met, page after page: :meth:`page_done` reorders when the page
    (with the end of the previous one, whose second may go on) mixes messages the
    catch-up stored and messages stored before; otherwise arrival already follows the
    archive (all stored now, in page order; or all before, in delivery order)."""

    def __init__(self, storage: Storage, profile: str) -> None:
        self.storage = storage
        self.profile = profile
        self.window: list[ArchivedMessage] = []
        #: rows whose arrival time changed, over the catch-up (logged at its end)
        self.reordered = 0

    def add(self, message: ArchivedMessage) -> None:
        self.window.append(message)

    async def page_done(self) -> None:
        window = self.window
        if not window:
            return
        if any(message.new for message in window) and not all(message.new for message in window):
            try:
                self.reordered += await follow_archive_order(self.storage, self.profile, window)
            except Database as exc:  # a tie-breaker: the messages are stored, the catch-up goes on
                log.warning("%s: history not put in archive order: %s", self.profile, exc)
        last = window[-1].timestamp
        self.window = [message for message in window if message.timestamp == last][-MAX_CARRIED:]
