"""Storage of the changes made to messages after they were sent: reactions (XEP-0444),
corrections (XEP-0308), retractions (XEP-0424), and the references that arrived before
their message.

Like :mod:`sat_backend.memory.sqla`, the only place where this SQL lives; the core's
:mod:`sat_backend.core.im.message_changes` calls these intent-named methods. History stays
the single truth: a correction keeps the replaced text in ``message_versions``, a
retraction leaves a tombstone row (``history.retracted`` set, no body).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, or_, select, union_all

from sat_backend.memory.tables import history as history_table
from sat_backend.memory.sqla import Storage
from sat_backend.memory.lazy_orm import orm
from sat_backend.memory.message_change_values import ReceivedChange, aggregate_reactions  # noqa: F401 (re-exported)
from sat_backend.memory.stored_message import HistoryMessage, StoredMessage, history_message, stored_message

#: references kept per profile while their message is unknown; the oldest go first
MAX_PENDING_PER_PROFILE = 1000


@dataclass(frozen=True)
class Conversation:
    """The two bare JIDs of a 1:1 conversation, in either direction."""

    one: str
    other: str

    def condition(self, source: Any = history_table.c.source, dest: Any = history_table.c.dest) -> Any:
        """Rows between the two, whichever sent (``source``/``dest``: the columns)."""
        return or_(
            and_(source == self.one, dest == self.other),
            and_(source == self.other, dest == self.one),
        )

    def values(self) -> dict[str, str]:
        """The values of :meth:`template`'s bound parameters."""
        return {"one": self.one, "other": self.other}

    @staticmethod
    def template() -> Conversation:
        """Its condition's shape with bound parameters for the JIDs: one statement, built
        once, serves every conversation."""
        return Conversation(bindparam("one"), bindparam("other"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class RoomMessages:
    """Every message of a room (XEP-0045) in history, ours and the occupants': all are
    stored from the room's bare JID."""

    room: str

    def condition(self, source: Any = history_table.c.source, dest: Any = history_table.c.dest) -> Any:
        return and_(source == self.room, history_table.c.type == "groupchat")

    def values(self) -> dict[str, str]:
        return {"room": self.room}

    @staticmethod
    def template() -> RoomMessages:
        return RoomMessages(bindparam("room"))  # type: ignore[arg-type]


@cache
def referenced_statement(in_room: bool, by_stanza_id: bool) -> Select[Any]:
    """The latest message of a conversation (a room's if ``in_room``; its ``values()``
    bound) that ``reference_id`` names: one look-up per kind of id, each on its own
    index, then the latest of the few found. Built once per kind, it runs as a short read.

    Written as a ``UNION ALL``, not an ``OR`` of the ids: for the ``OR``, SQLite (no
    statistics) walked the profile's whole history by timestamp, or a room's every
    message, whenever the reference named an old message or none (16 ms at 50,000
    messages, for each received change)."""
    history = history_table.c
    conversation = (RoomMessages if in_room else Conversation).template().condition(history.source, history.dest)
    columns = (history.origin_id, history.message_id, *((history.stanza_id,) if by_stanza_id else ()))
    found = union_all(*(
        select(history.id, history.timestamp)
        .where(history.profile_id == bindparam("profile_id"), column == bindparam("reference_id"), conversation)
        for column in columns
    )).subquery()
    latest = select(found.c.id).order_by(found.c.timestamp.desc()).limit(1).scalar_subquery()
    return select(*history_table.c).where(history.id == latest)


class MessageChangesStorage:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        #: profiles known to have no pending reference: a stored message then asks nothing
        #: of the database (only this class adds rows; a deleted profile's went with it)
        self._none_pending: set[str] = set()
        #: bumped by each add: a take that began before it must not conclude "none left"
        self._adds = 0

    async def get_message(self, profile: str, uid: str) -> HistoryMessage | None:
        """A message of the profile's history with its texts, reactions and versions."""
        async with self.storage.session() as session:
            entry = await session.scalar(
                select(orm.History).where(
                    orm.History.profile_id == await self.storage.profile_id(session, profile), orm.History.id == uid
                )
            )
            return None if entry is None else history_message(entry)

    async def find_referenced(self, profile: str, reference_id: str, conversation: Conversation | RoomMessages, *,
                              by_stanza_id: bool = False) -> StoredMessage | None:
        """The message of ``conversation`` that a reference names: by the sender's
        XEP-0359 origin-id, or else the ``id`` attribute of its stanza; ``by_stanza_id``:
        also by the stanza-id the archive gave it (in a room, references use the room's).

        Asked for every received change, which needs only the row: its texts, subjects,
        reactions and versions are not read.
        """
        values = {"profile_id": await self.storage.profile_id(None, profile), "reference_id": reference_id,
                  **conversation.values()}
        rows = await self.storage.read_rows(referenced_statement(isinstance(conversation, RoomMessages), by_stanza_id),
                                           values)
        return stored_message(rows[0]) if rows else None

    async def set_reactions(
        self, history_id: str, sender: str, reactions: list[str], timestamp: float
    ) -> dict[str, list[str]] | None:
        """Replace the reactions of ``sender`` (a bare JID) to a message.

        :returns: every sender's reactions, by emoji; None when a newer set of this
            sender is stored already (an archive replaying an old stanza changes nothing),
            or when the message is retracted (checked here, in the same transaction as
            the write: a tombstone keeps no reaction, whatever its caller read before).
        """
        async with self.storage.session() as session:
            message = (await session.execute(select(orm.History.retracted).where(orm.History.id == history_id))).first()
            if message is None or message.retracted is not None:
                return None
            row = await session.get(orm.MessageReaction, (history_id, sender))
            if row is not None and row.timestamp > timestamp:
                return None
            if not reactions:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(orm.MessageReaction(history_id=history_id, sender=sender, reactions=reactions,
                                            timestamp=timestamp))
            else:
                row.reactions = reactions
                row.timestamp = timestamp
            await session.flush()
            rows = await session.scalars(
                select(orm.MessageReaction).where(orm.MessageReaction.history_id == history_id)
            )
            return aggregate_reactions(rows)

    async def get_reactions_of(self, history_id: str, sender: str) -> list[str]:
        async with self.storage.session() as session:
            row = await session.get(orm.MessageReaction, (history_id, sender))
            return list(row.reactions) if row is not None else []

    async def replace_bodies(self, history_id: str, bodies: dict[str, str], replaced: float) -> bool:
        """A correction: the current bodies become a previous version, ``bodies`` the text.

        :returns: False when nothing changed: the message is retracted, the text is the
            same, or a newer correction is applied already (the archive replays, on the
            next connection, corrections that came live; its times are to the second).
        """
        async with self.storage.session() as session:
            entry = await session.get(orm.History, history_id)
            if entry is None or entry.retracted is not None:
                return False
            if any(version.replaced > replaced for version in entry.versions):
                return False
            current = {message.language or "": message.message for message in entry.messages}
            if current == bodies:
                return False
            session.add(orm.MessageVersion(history_id=history_id, bodies=current, replaced=replaced))
            entry.messages = [orm.Message(message=text, language=lang or None) for lang, text in bodies.items()]
            return True

    async def retract(self, history_id: str, retracted: float, *, moderated: dict[str, str] | None = None) -> bool:
        """Leave a tombstone: no body, no previous version, no reaction; the row stays so
        that the conversation shows where a message was.

        :param moderated: a room moderator retracted it (XEP-0425): who and why, kept in
            ``extra.moderated``.

        :returns: False when it was retracted already.
        """
        async with self.storage.session() as session:
            entry = await session.get(orm.History, history_id)
            if entry is None or entry.retracted is not None:
                return False
            entry.retracted = retracted
            entry.messages = []
            if moderated is not None:   # a new dict: JSON changes are not tracked
                entry.extra = {**(entry.extra or {}), "moderated": moderated}
            await session.execute(delete(orm.MessageVersion).where(orm.MessageVersion.history_id == history_id))
            await session.execute(delete(orm.MessageReaction).where(orm.MessageReaction.history_id == history_id))
            return True

    async def set_delivery_error(self, history_id: str, details: dict[str, str]) -> bool:
        """Record in ``extra.error`` why a message we sent was not delivered.

        :returns: False when the message is gone or has this error already.
        """
        async with self.storage.session() as session:
            entry = await session.get(orm.History, history_id)
            if entry is None or (entry.extra or {}).get("error") == details:
                return False
            entry.extra = {**(entry.extra or {}), "error": details}  # a new dict: JSON changes are not tracked
            return True

    async def add_pending(self, profile: str, change: ReceivedChange) -> None:
        """Keep a change whose message is unknown (bounded per profile: oldest dropped)."""
        self._adds += 1
        self._none_pending.discard(profile)
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            session.add(orm.PendingReference(
                profile_id=profile_id, kind=change.kind, reference_id=change.reference_id,
                sender=change.sender, recipient=change.recipient, data=change.data,
                timestamp=change.timestamp,
            ))
            await session.flush()
            count = await session.scalar(
                select(func.count()).select_from(orm.PendingReference).where(orm.PendingReference.profile_id == profile_id)
            )
            if count is not None and count > MAX_PENDING_PER_PROFILE:
                oldest = select(orm.PendingReference.id).where(orm.PendingReference.profile_id == profile_id) \
                    .order_by(orm.PendingReference.timestamp, orm.PendingReference.id).limit(count - MAX_PENDING_PER_PROFILE)
                await session.execute(delete(orm.PendingReference).where(orm.PendingReference.id.in_(oldest)))

    async def take_pending(
        self, profile: str, reference_ids: set[str], conversation: Conversation
    ) -> list[ReceivedChange]:
        """Remove and return the changes of ``conversation`` waiting for a message known
        by one of ``reference_ids``, oldest first."""
        if not reference_ids or profile in self._none_pending:
            return []
        adds = self._adds
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            rows = list(await session.scalars(
                select(orm.PendingReference).where(
                    orm.PendingReference.profile_id == profile_id,
                    orm.PendingReference.reference_id.in_(reference_ids),
                    conversation.condition(orm.PendingReference.sender, orm.PendingReference.recipient),
                ).order_by(orm.PendingReference.timestamp, orm.PendingReference.id)
            ))
            # every stored message asks: the usual answer (none) must not cost a write
            if rows:
                await session.execute(delete(orm.PendingReference).where(orm.PendingReference.id.in_([row.id for row in rows])))
            left = await session.scalar(
                select(orm.PendingReference.id).where(orm.PendingReference.profile_id == profile_id).limit(1)
            )
        if left is None and adds == self._adds:
            self._none_pending.add(profile)
        return [ReceivedChange(row.kind, row.reference_id, row.sender, row.recipient, dict(row.data or {}),
                              row.timestamp) for row in rows]
