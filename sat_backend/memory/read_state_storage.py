"""Storage of the read state of 1:1 conversations (``conversation_reads``) and the
unread counts derived from history.

Like :mod:`sat_backend.memory.sqla`, the only place where this SQL lives. Counts are
never stored: they are counted from history (received messages of a conversation after
its read point), so a message stored by any path (live, carbons, archive) counts, and a
retracted one stops counting, without bookkeeping that could drift.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import noload

from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import ConversationRead, History

#: message types that make a conversation unread (group chats and headlines do not)
COUNTED_TYPES = ("chat", "normal")
#: received messages looked at, newest first, for one the sender asked markers for
MARKABLE_LOOKBACK = 20


class ReadStateStorage:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def unread_counts(self, profile: str, own: str, peer: str | None = None) -> dict[str, int]:
        """Unread messages by bare JID of their sender (only non-zero counts).

        :param own: the profile's bare JID (its messages, from any device, never count).
        :param peer: only this conversation.
        """
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            read = ConversationRead
            query = (
                select(History.source, func.count())
                .outerjoin(read, and_(read.profile_id == History.profile_id, read.peer == History.source))
                .where(
                    History.profile_id == profile_id,
                    History.dest == own,
                    History.source != own,
                    History.type.in_(COUNTED_TYPES),
                    History.retracted.is_(None),
                    or_(read.read_until.is_(None), History.timestamp > read.read_until),
                )
                .group_by(History.source)
            )
            if peer is not None:
                query = query.where(History.source == peer)
            return {source: count for source, count in (await session.execute(query)).all()}

    async def message_point(self, profile: str, uid: str, peer: str) -> float | None:
        """Timestamp of message ``uid`` if it belongs to the conversation with ``peer``."""
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            return await session.scalar(
                select(History.timestamp).where(
                    History.profile_id == profile_id, History.id == uid,
                    or_(History.source == peer, History.dest == peer),
                )
            )

    async def last_point(self, profile: str, peer: str) -> tuple[float, str] | None:
        """Timestamp and uid of the last message received from ``peer``, if any."""
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            row = (await session.execute(
                select(History.timestamp, History.id)
                .where(History.profile_id == profile_id, History.source == peer)
                .order_by(History.timestamp.desc())
                .limit(1)
            )).first()
            return None if row is None else (row.timestamp, row.id)

    async def last_markable(self, profile: str, peer: str, until: float) -> History | None:
        """The last ``chat`` message received from ``peer`` up to ``until`` whose sender
        asked for read markers (``extra.markable``, XEP-0333), among the last
        :data:`MARKABLE_LOOKBACK`: a marker for it says every earlier one is read too."""
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            rows = (await session.scalars(
                select(History)
                .where(History.profile_id == profile_id, History.source == peer, History.type == "chat",
                       History.timestamp <= until, History.retracted.is_(None))
                .order_by(History.timestamp.desc())
                .limit(MARKABLE_LOOKBACK)
                .options(noload("*"))   # texts, reactions… are not needed for a marker
            )).all()
            return next((row for row in rows if (row.extra or {}).get("markable")), None)

    async def mark_read(self, profile: str, peer: str, until: float, uid: str | None) -> bool:
        """Move the conversation's read point forward to ``until`` (never back).

        :returns: whether it moved.
        """
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            row = await session.get(ConversationRead, (profile_id, peer))
            if row is None:
                session.add(ConversationRead(profile_id=profile_id, peer=peer, read_until=until, last_read_uid=uid))
                return True
            if row.read_until >= until:
                return False
            row.read_until = until
            row.last_read_uid = uid
            return True
