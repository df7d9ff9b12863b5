"""Storage of the read state of conversations, 1:1 and rooms (``conversation_reads``),
and the unread counts derived from history.

Like :mod:`sat_backend.memory.sqla`, the only place where this SQL lives. Counts are
never stored: they are counted from history (received messages of a conversation after
its read point), so a message stored by any path (live, carbons, archive) counts, and a
retracted one stops counting, without bookkeeping that could drift.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any

from sqlalchemy import CTE, Insert, Integer, ScalarSelect, Select, String, and_, bindparam, func, or_, select, union_all

from sat_backend.memory.sqla import Storage
from sat_backend.memory.history_writes import StatementRunner
from sat_backend.memory.short_statements import dialect_insert
from sat_backend.memory.tables import conversation_reads
from sat_backend.memory.lazy_orm import orm
from sat_backend.memory.stored_message import StoredMessage, stored_message

#: message types that make a 1:1 conversation unread (headlines do not)
COUNTED_TYPES = ("chat", "normal")
#: the type of room messages (XEP-0045), counted by room: every one from an occupant
#: (the room's own, without a nick, are not); ours move the room's read point instead
ROOM_TYPE = "groupchat"
#: the read point of a conversation never read: before any message
NEVER_READ = float("-inf")
#: received messages looked at, newest first, for one the sender asked markers for
MARKABLE_LOOKBACK = 20
#: conversations asked for counted by one statement (a ``UNION ALL`` of one row each:
#: SQLite refuses more than 500 parts in a compound select)
CHOSEN_PER_STATEMENT = 200


class ReadStateStorage:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def unread_counts(self, profile: str, own: str, peer: str | None = None,
                            among: Collection[str] | None = None) -> dict[str, int]:
        """Unread messages by bare JID of their sender, or of their room (only non-zero counts).

        Each conversation is counted from its read point on, by a range of the index
        ``(profile_id, source, timestamp)``: the cost follows the unread messages and the
        number of conversations, not the length of the history.

        :param own: the profile's bare JID (its messages, from any device, never count;
            in rooms, ours move the read point past them, see ``ReadState``).
        :param peer: only this conversation.
        :param among: only these conversations.
        """
        async with self.storage.scanning() as session:
            profile_id = await self.storage.profile_id(session, profile)
            values: dict[str, Any] = {"profile_id": profile_id, "own": own}
            if peer is None and among is None:
                every: list[tuple[Select[Any], dict[str, Any]]] = [(_counts_statement(None), values)]
            else:
                chosen = _chosen(peer, among)
                every = [(_counts_statement(len(part)), {**values, **_peer_values(part)})
                         for part in (chosen[start:start + CHOSEN_PER_STATEMENT]
                                      for start in range(0, len(chosen), CHOSEN_PER_STATEMENT))]
            counts: dict[str, int] = {}
            for statement, bound in every:
                rows = (await session.execute(statement, bound)).all()
                counts.update((source, count) for source, count in rows if count)
            return counts

    async def message_point(self, profile: str, uid: str, peer: str) -> float | None:
        """Timestamp of message ``uid`` if it belongs to the conversation with ``peer``."""
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            return await session.scalar(
                select(orm.History.timestamp).where(
                    orm.History.profile_id == profile_id, orm.History.id == uid,
                    or_(orm.History.source == peer, orm.History.dest == peer),
                )
            )

    async def last_point(self, profile: str, peer: str) -> tuple[float, str] | None:
        """Timestamp and uid of the last message received from ``peer``, if any."""
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            row = (await session.execute(
                select(orm.History.timestamp, orm.History.id)
                .where(orm.History.profile_id == profile_id, orm.History.source == peer)
                .order_by(orm.History.timestamp.desc())
                .limit(1)
            )).first()
            return None if row is None else (row.timestamp, row.id)

    async def last_markable(self, profile: str, peer: str, until: float) -> StoredMessage | None:
        """The last ``chat`` message received from ``peer`` up to ``until`` whose sender
        asked for read markers (``extra.markable``, XEP-0333), among the last
        :data:`MARKABLE_LOOKBACK`: a marker for it says every earlier one is read too."""
        async with self.storage.session() as session:
            profile_id = await self.storage.profile_id(session, profile)
            rows = (await session.scalars(
                select(orm.History)
                .where(orm.History.profile_id == profile_id, orm.History.source == peer, orm.History.type == "chat",
                       orm.History.timestamp <= until, orm.History.retracted.is_(None))
                .order_by(orm.History.timestamp.desc())
                .limit(MARKABLE_LOOKBACK)
                .options(_no_relationships())   # texts, reactions… are not needed for a marker
            )).all()
            row = next((row for row in rows if (row.extra or {}).get("markable")), None)
            return None if row is None else stored_message(row)

    async def mark_read(self, profile: str, peer: str, until: float, uid: str | None) -> bool:
        """Move the conversation's read point forward to ``until`` (never back): one
        statement on the short write connection (:meth:`Storage.hot_write`), since every
        message we send moves it.

        :returns: whether it moved.
        """
        return await self.storage.hot_write(
            profile, lambda run, profile_id: move_read_point(run, profile_id, peer, until, uid)
        )


async def move_read_point(run: StatementRunner, profile_id: int, peer: str, until: float, uid: str | None) -> bool:
    """:meth:`ReadStateStorage.mark_read` inside the caller's transaction (the insert of
    a message we send).

    :returns: whether it moved.
    """
    values = {"profile_id": profile_id, "peer": peer, "read_until": until, "last_read_uid": uid}
    return bool((await run.run(_move_read_point(run.dialect), values)).rowcount)


def _unread(own: Any) -> tuple[Any, ...]:
    """What makes a stored message count as unread, its read point aside: a 1:1 message
    from the other end, or a room message from an occupant, not retracted."""
    return (
        orm.History.type.in_((*COUNTED_TYPES, ROOM_TYPE)),
        or_(
            and_(orm.History.type != ROOM_TYPE, orm.History.dest == own, orm.History.source != own),
            and_(orm.History.type == ROOM_TYPE, orm.History.source_res.is_not(None)),
        ),
        orm.History.retracted.is_(None),
    )


@cache
def _counts_statement(peers: int | None) -> Select[Any]:
    """:func:`_counts_by_source` of every conversation (``peers`` None) or of ``peers``
    chosen ones, built once per process with bound parameters (``profile_id``, ``own``,
    ``peer_0``…: :func:`_peer_values`): the unread counts are asked again each time a
    received message changes them (every 0.25 s in a burst), and building the
    statement anew took longer than running it (≈ 1 ms; issue 14, ``MessageSend``)."""
    profile_id = bindparam("profile_id", type_=Integer)
    sources = _every_source(profile_id) if peers is None else _these_sources(peers)
    return _counts_by_source(profile_id, bindparam("own", type_=String), sources)


def _peer_values(chosen: list[str]) -> dict[str, str]:
    """The bound values of :func:`_these_sources` for the conversations ``chosen``."""
    return {f"peer_{index}": peer for index, peer in enumerate(chosen)}


def _every_source(profile_id: Any) -> CTE:
    """Every sender (or room) in the profile's history, by a loose index scan: a recursive
    query seeking the next source after the last one in the ``(profile_id, source, …)``
    index, one seek per conversation instead of one read per message."""
    def after(previous: Any) -> ScalarSelect[str]:
        return (select(orm.History.source).where(orm.History.profile_id == profile_id, *previous)
                .order_by(orm.History.source).limit(1).scalar_subquery())

    sources = select(after(()).label("source")).cte("sources", recursive=True)
    following = select(after((orm.History.source > sources.c.source,)).label("source")).where(sources.c.source.is_not(None))
    return sources.union_all(following)


def _these_sources(peers: int) -> CTE:
    """``peers`` conversations asked for (bound as ``peer_0``…), as a table of one
    ``source`` column."""
    return union_all(*(select(bindparam(f"peer_{index}", type_=String).label("source"))
                       for index in range(peers))).cte("sources")


def _counts_by_source(profile_id: Any, own: Any, sources: CTE) -> Select[Any]:
    """For each source (None ends the loose scan of :func:`_every_source`), its unread
    messages: those after its read point (before any message if it has none), a range
    of the index ``(profile_id, source, timestamp)``.

    Our own bare JID is left out: its messages are ours (never counted, and with no read
    point their range would be every message we ever sent), and a room message's source
    is its room, never us."""
    read = orm.ConversationRead
    unread = (
        select(func.count()).select_from(orm.History)
        .where(orm.History.profile_id == profile_id, orm.History.source == sources.c.source,
               orm.History.timestamp > func.coalesce(read.read_until, NEVER_READ), *_unread(own))
        .scalar_subquery()
    )
    return (
        select(sources.c.source, unread)
        .outerjoin(read, and_(read.profile_id == profile_id, read.peer == sources.c.source))
        .where(sources.c.source.is_not(None), sources.c.source != own)
    )


def _chosen(peer: str | None, among: Collection[str] | None) -> list[str]:
    """The conversations asked for: ``peer``, or those ``among``, or ``peer`` if among them."""
    if peer is None:
        return sorted(among or ())
    return [peer] if among is None or peer in among else []


@cache
def _move_read_point(dialect: str) -> Insert:
    """Insert a read point, or move the stored one if it is older (an upsert whose update
    applies only forward: no row changes, rowcount 0, when it would go back)."""
    table = conversation_reads
    statement = dialect_insert(table, dialect)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=[table.c.profile_id, table.c.peer],
        set_={"read_until": statement.excluded.read_until, "last_read_uid": statement.excluded.last_read_uid},
        where=table.c.read_until < statement.excluded.read_until,
    )


def _no_relationships() -> Any:
    """The loader option that reads none of a row's relationships."""
    from sqlalchemy.orm import noload  # the ORM, imported with the mapping (lazy_orm)

    return noload("*")
