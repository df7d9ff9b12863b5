"""SQLAlchemy 2.0 ORM classes of everything the backend stores, mapped onto the Core
tables of :mod:`sat_backend.memory.tables` (declarative with ``__table__``).

Mapped objects are plain, typed classes meant to be used outside the storage module;
only the storage modules run queries. The schema is the tables' (one definition): the
annotations here give the ORM's typed attributes, beside the relationships and the
``data`` validator. Importing this module imports ``sqlalchemy.orm`` (~75 ms of CPU with
the classes): storage code reaches it through :mod:`.lazy_orm`, so that a start does not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase, Mapped, relationship, validates

from sat_backend.memory import pubsub_fts, tables
from sat_backend.memory.pubsub_cache_values import SyncState
from sat_backend.memory.tables import NAMING_CONVENTION, PROFILE_NAME_LENGTH

__all__ = ["NAMING_CONVENTION", "PROFILE_NAME_LENGTH"]


class Base(DeclarativeBase):
    metadata = tables.metadata
    type_annotation_map = {dict[str, Any]: JSON, Any: JSON}


class Profile(Base):
    """One XMPP account of the user, named by them."""

    __tablename__ = "profiles"
    __table__ = tables.profiles

    id: Mapped[int]
    name: Mapped[str]
    created: Mapped[float]

    def __repr__(self) -> str:
        return f"Profile(id={self.id!r}, name={self.name!r})"


class ParamGeneral(Base):
    """A param value shared by all profiles."""

    __tablename__ = "params_general"
    __table__ = tables.params_general

    category: Mapped[str]
    name: Mapped[str]
    value: Mapped[str | None]


class ParamIndividual(Base):
    """A param value of one profile (passwords are stored encrypted)."""

    __tablename__ = "params_individual"
    __table__ = tables.params_individual

    category: Mapped[str]
    name: Mapped[str]
    profile_id: Mapped[int]
    value: Mapped[str | None]


class PrivateGeneral(Base):
    """Persistent key/value data of the core and plugins, not tied to a profile."""

    __tablename__ = "private_general"
    __table__ = tables.private_general

    namespace: Mapped[str]
    key: Mapped[str]
    value: Mapped[Any]


class PrivateIndividual(Base):
    """Persistent key/value data of the core and plugins for one profile."""

    __tablename__ = "private_individual"
    __table__ = tables.private_individual

    namespace: Mapped[str]
    key: Mapped[str]
    profile_id: Mapped[int]
    value: Mapped[Any]


class History(Base):
    """One message of the history; bodies and subjects are per language."""

    __tablename__ = "history"
    __table__ = tables.history

    id: Mapped[str]
    profile_id: Mapped[int]
    stanza_id: Mapped[str | None]
    origin_id: Mapped[str | None]
    timestamp: Mapped[float]
    received_timestamp: Mapped[float | None]
    source: Mapped[str]
    source_res: Mapped[str | None]
    dest: Mapped[str]
    dest_res: Mapped[str | None]
    type: Mapped[str]
    extra: Mapped[dict[str, Any] | None]
    message_id: Mapped[str | None]
    retracted: Mapped[float | None]

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
    __table__ = tables.messages

    id: Mapped[int]
    history_id: Mapped[str]
    message: Mapped[str]
    language: Mapped[str | None]

    history: Mapped[History] = relationship(back_populates="messages")


class Subject(Base):
    """A message subject in one language."""

    __tablename__ = "subjects"
    __table__ = tables.subjects

    id: Mapped[int]
    history_id: Mapped[str]
    subject: Mapped[str]
    language: Mapped[str | None]

    history: Mapped[History] = relationship(back_populates="subjects")


class MessageReaction(Base):
    """The reactions (XEP-0444) of one sender to one message."""

    __tablename__ = "message_reactions"
    __table__ = tables.message_reactions

    history_id: Mapped[str]
    sender: Mapped[str]
    reactions: Mapped[list[str]]
    timestamp: Mapped[float]

    history: Mapped[History] = relationship(back_populates="reactions")


class MessageVersion(Base):
    """A previous text of a corrected message (XEP-0308)."""

    __tablename__ = "message_versions"
    __table__ = tables.message_versions

    id: Mapped[int]
    history_id: Mapped[str]
    bodies: Mapped[dict[str, Any]]
    replaced: Mapped[float]

    history: Mapped[History] = relationship(back_populates="versions")


class PendingReference(Base):
    """A reaction, correction or retraction naming a message we do not have yet."""

    __tablename__ = "pending_references"
    __table__ = tables.pending_references

    id: Mapped[int]
    profile_id: Mapped[int]
    kind: Mapped[str]
    reference_id: Mapped[str]
    sender: Mapped[str]
    recipient: Mapped[str]
    data: Mapped[dict[str, Any]]
    timestamp: Mapped[float]


class ConversationRead(Base):
    """How far the user read a 1:1 conversation."""

    __tablename__ = "conversation_reads"
    __table__ = tables.conversation_reads

    profile_id: Mapped[int]
    peer: Mapped[str]
    read_until: Mapped[float]
    last_read_uid: Mapped[str | None]


class PubsubNode(Base):
    """A pubsub node known to the cache; ``sync_state`` None means not analysed yet."""

    __tablename__ = "pubsub_nodes"
    __table__ = tables.pubsub_nodes

    id: Mapped[int]
    profile_id: Mapped[int]
    service: Mapped[str]
    name: Mapped[str]
    subscribed: Mapped[bool]
    analyser: Mapped[str | None]
    sync_state: Mapped[SyncState | None]
    sync_state_updated: Mapped[float]
    type: Mapped[str | None]
    subtype: Mapped[str | None]
    extra: Mapped[dict[str, Any] | None]

    items: Mapped[list[PubsubItem]] = relationship(
        back_populates="node", cascade="all, delete-orphan", passive_deletes=True
    )


class PubsubItem(Base):
    """A cached pubsub item: raw XML always, parsed data when a parser exists."""

    __tablename__ = "pubsub_items"
    __table__ = tables.pubsub_items

    id: Mapped[int]
    node_id: Mapped[int]
    name: Mapped[str]
    data: Mapped[str]
    created: Mapped[float]
    updated: Mapped[float]
    parsed: Mapped[dict[str, Any] | None]
    search_text: Mapped[str]
    digest: Mapped[str | None]

    node: Mapped[PubsubNode] = relationship(back_populates="items")

    @validates("data")
    def _index_data(self, _key: str, data: str) -> str:
        """Keep the full-text column in step with the raw XML, whoever writes it."""
        self.search_text = pubsub_fts.search_text(data)
        self.digest = None  # the ORM does not compute it: known stale, computed when needed
        return data
