"""SQLAlchemy 2.0 mapping of everything the backend stores.

Mapped objects are plain, typed classes meant to be used outside the storage module;
only :mod:`sat_backend.memory.sqla` runs queries. Types are generic (``JSON``, not
``JSONB``) so the same models serve SQLite and PostgreSQL, and every constraint is named
through :data:`NAMING_CONVENTION` so Alembic can drop it on downgrade (SQLite batch mode
needs names).

Later issues add columns and tables only through migrations
(``sat_backend/memory/migration/versions``).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from sat_backend.memory import pubsub_fts, pubsub_fts_terms
from sat_backend.memory.pubsub_cache_values import SyncState

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: the longest profile name the core accepts
PROFILE_NAME_LENGTH = 64


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, Any: JSON}


def _now() -> float:
    return time.time()


def _search_text_default(context: DefaultExecutionContext) -> str:
    """``search_text`` of a row inserted without it (Core or bulk insert of ``data``)."""
    return pubsub_fts.search_text(context.get_current_parameters().get("data"))


def _profile_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)


class Profile(Base):
    """One XMPP account of the user, named by them."""

    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(PROFILE_NAME_LENGTH), unique=True)
    created: Mapped[float] = mapped_column(Float, default=_now)

    def __repr__(self) -> str:
        return f"Profile(id={self.id!r}, name={self.name!r})"


class ParamGeneral(Base):
    """A param value shared by all profiles."""

    __tablename__ = "params_general"

    category: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)


class ParamIndividual(Base):
    """A param value of one profile (passwords are stored encrypted)."""

    __tablename__ = "params_individual"

    category: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    profile_id: Mapped[int] = _profile_fk()
    value: Mapped[str | None] = mapped_column(Text)


class PrivateGeneral(Base):
    """Persistent key/value data of the core and plugins, not tied to a profile."""

    __tablename__ = "private_general"

    namespace: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)


class PrivateIndividual(Base):
    """Persistent key/value data of the core and plugins for one profile."""

    __tablename__ = "private_individual"

    namespace: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    profile_id: Mapped[int] = _profile_fk()
    value: Mapped[Any] = mapped_column(JSON, nullable=True)


class History(Base):
    """One message of the history; bodies and subjects are per language."""

    __tablename__ = "history"
    __table_args__ = (
        UniqueConstraint("profile_id", "stanza_id", "source"),
        Index("ix_history_profile_id_timestamp", "profile_id", "timestamp"),
        # a conversation's messages in order: its unread count from its read point on,
        # the distinct conversations of a profile (a loose scan), its last message
        Index("ix_history_profile_id_source_timestamp", "profile_id", "source", "timestamp"),
        # deduplication of a sender's own messages coming back (archive, carbons); the
        # sender completes the key, so that SQLite never prefers the conversation's index
        Index("ix_history_profile_id_origin_id_source", "profile_id", "origin_id", "source"),
        # references to a message by its stanza id (XEP-0308/0444 without origin-id)
        Index("ix_history_profile_id_message_id_source", "profile_id", "message_id", "source"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    #: XEP-0359 stanza-id given by the archive (MAM), used to deduplicate
    stanza_id: Mapped[str | None] = mapped_column(String(255))
    #: XEP-0359 origin-id given by the sender
    origin_id: Mapped[str | None] = mapped_column(String(255))
    timestamp: Mapped[float] = mapped_column(Float)
    received_timestamp: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(3071))
    source_res: Mapped[str | None] = mapped_column(String(1023))
    dest: Mapped[str] = mapped_column(String(3071))
    dest_res: Mapped[str | None] = mapped_column(String(1023))
    type: Mapped[str] = mapped_column(String(16))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the ``id`` attribute of the sender's stanza: XEP-0308/0444 references use it when
    #: the sender gave no origin-id
    message_id: Mapped[str | None] = mapped_column(String(255))
    #: XEP-0424: when the message was retracted; its bodies are gone (a tombstone)
    retracted: Mapped[float | None] = mapped_column(Float)

    messages: Mapped[list[Message]] = relationship(
        back_populates="history", cascade="all, delete-orphan", lazy="selectin"
    )
    subjects: Mapped[list[Subject]] = relationship(
        back_populates="history", cascade="all, delete-orphan", lazy="selectin"
    )
    reactions: Mapped[list[MessageReaction]] = relationship(
        back_populates="history", cascade="all, delete-orphan", lazy="selectin"
    )
    versions: Mapped[list[MessageVersion]] = relationship(
        back_populates="history", cascade="all, delete-orphan", lazy="selectin"
    )


class Message(Base):
    """A message body in one language."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    history_id: Mapped[str] = mapped_column(ForeignKey("history.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))

    history: Mapped[History] = relationship(back_populates="messages")


class Subject(Base):
    """A message subject in one language."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    history_id: Mapped[str] = mapped_column(ForeignKey("history.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))

    history: Mapped[History] = relationship(back_populates="subjects")


class MessageReaction(Base):
    """The reactions (XEP-0444) of one sender to one message: always that sender's whole
    set, as the XEP sends it."""

    __tablename__ = "message_reactions"

    history_id: Mapped[str] = mapped_column(ForeignKey("history.id", ondelete="CASCADE"), primary_key=True)
    #: bare JID of who reacted (ours included)
    sender: Mapped[str] = mapped_column(String(3071), primary_key=True)
    reactions: Mapped[list[str]] = mapped_column(JSON)
    #: time of the stanza: an older one (replayed by an archive) never replaces a newer one
    timestamp: Mapped[float] = mapped_column(Float)

    history: Mapped[History] = relationship(back_populates="reactions")


class MessageVersion(Base):
    """A previous text of a corrected message (XEP-0308): history keeps every version."""

    __tablename__ = "message_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    history_id: Mapped[str] = mapped_column(ForeignKey("history.id", ondelete="CASCADE"), index=True)
    #: the replaced bodies, by language
    bodies: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: when a correction replaced them
    replaced: Mapped[float] = mapped_column(Float)

    history: Mapped[History] = relationship(back_populates="versions")


class PendingReference(Base):
    """A reaction, correction or retraction naming a message we do not have yet (it may
    come later from the archive): applied, then deleted, when that message arrives."""

    __tablename__ = "pending_references"
    __table_args__ = (Index("ix_pending_references_profile_id_reference_id", "profile_id", "reference_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    #: ``reactions``, ``edit`` or ``retract``
    kind: Mapped[str] = mapped_column(String(16))
    #: the id the sender gave to the message (origin-id or stanza id)
    reference_id: Mapped[str] = mapped_column(String(255))
    #: bare JIDs of the change's sender and recipient (the conversation)
    sender: Mapped[str] = mapped_column(String(3071))
    recipient: Mapped[str] = mapped_column(String(3071))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    timestamp: Mapped[float] = mapped_column(Float)


class ConversationRead(Base):
    """How far the user read a 1:1 conversation: messages received after ``read_until``
    are unread. One truth for every frontend; moved forward only (by ``MarkRead``, a
    displayed marker or a reply from another of our devices)."""

    __tablename__ = "conversation_reads"

    profile_id: Mapped[int] = _profile_fk()
    #: bare JID of the other end
    peer: Mapped[str] = mapped_column(String(3071), primary_key=True)
    #: history timestamp of the last message read
    read_until: Mapped[float] = mapped_column(Float)
    #: uid of that message, when known
    last_read_uid: Mapped[str | None] = mapped_column(String(64))


class PubsubNode(Base):
    """A pubsub node known to the cache; ``sync_state`` None means not analysed yet."""

    __tablename__ = "pubsub_nodes"
    __table_args__ = (UniqueConstraint("profile_id", "service", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(3071))
    name: Mapped[str] = mapped_column(String(1024))
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    analyser: Mapped[str | None] = mapped_column(String(128))
    sync_state: Mapped[SyncState | None] = mapped_column(
        Enum(SyncState, name="sync_state", values_callable=lambda e: [m.value for m in e],
             native_enum=False, length=16, create_constraint=True)
    )
    sync_state_updated: Mapped[float] = mapped_column(Float, default=_now)
    type: Mapped[str | None] = mapped_column(String(128))
    subtype: Mapped[str | None] = mapped_column(String(128))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    items: Mapped[list[PubsubItem]] = relationship(
        back_populates="node", cascade="all, delete-orphan", passive_deletes=True
    )


class PubsubItem(Base):
    """A cached pubsub item: raw XML always, parsed data when a parser exists."""

    __tablename__ = "pubsub_items"
    __table_args__ = (
        UniqueConstraint("node_id", "name"),
        # a page of a node in the cache's order, by keyset (:mod:`.pubsub_cache_pages`)
        Index("ix_pubsub_items_node_id_created_id", "node_id", "created", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("pubsub_nodes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1024))
    data: Mapped[str] = mapped_column(Text)
    created: Mapped[float] = mapped_column(Float, default=_now)
    updated: Mapped[float] = mapped_column(Float, default=_now, onupdate=_now)
    parsed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the words of the item's text, for full-text search (:mod:`.pubsub_fts`); set from
    #: ``data`` by the ORM (below) and by Core inserts that leave it out (the default)
    search_text: Mapped[str] = mapped_column(Text, default=_search_text_default, server_default="")
    #: hex SHA-256 of the payload, canonical (:class:`~sat_backend.core.received_item.ReceivedItem`):
    #: a notified item with the same digest changes nothing. NULL: not known yet (rows
    #: from before revision 0006, or written through the ORM), computed when first needed
    digest: Mapped[str | None] = mapped_column(String(64))

    node: Mapped[PubsubNode] = relationship(back_populates="items")

    @validates("data")
    def _index_data(self, _key: str, data: str) -> str:
        """Keep the full-text column in step with the raw XML, whoever writes it."""
        self.search_text = pubsub_fts.search_text(data)
        self.digest = None  # the ORM does not compute it: known stale, computed when needed
        return data




def _create_search_indexes(_table: Any, connection: Any, **_: Any) -> None:
    pubsub_fts.create_index(connection)
    pubsub_fts_terms.create_term_index(connection)


def _drop_search_indexes(_table: Any, connection: Any, **_: Any) -> None:
    pubsub_fts_terms.drop_term_index(connection)
    pubsub_fts.drop_index(connection)


# the full-text index and its term index are not models: created with the table (new
# database) or by migrations (0003, 0008)
event.listen(PubsubItem.__table__, "after_create", _create_search_indexes)
event.listen(PubsubItem.__table__, "after_drop", _drop_search_indexes)
