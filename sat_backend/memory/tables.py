"""The tables of everything the backend stores, as SQLAlchemy Core ``Table``\\ s.

The one definition of the schema: the ORM classes of :mod:`.sqla_mapping` are mapped
onto these tables, and the short statements (:mod:`.short_statements`) and every Core
query use them directly. Core alone is what a start needs: the ORM and its declarative
classes are imported after the bus name is owned (see doc/developer.rst, start).

Types are generic (``JSON``, not ``JSONB``) so the same tables serve SQLite and
PostgreSQL, and every constraint is named through :data:`NAMING_CONVENTION` so Alembic
can drop it on downgrade (SQLite batch mode needs names). Later issues add columns and
tables only through migrations (``sat_backend/memory/migration/versions``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine.default import DefaultExecutionContext

from sat_backend.core.lazy_import import lazy_module
from sat_backend.memory.history_entry import ID_LENGTH, LANGUAGE_LENGTH
from sat_backend.memory.pubsub_cache_values import ITEM_ID_LENGTH, SyncState

if TYPE_CHECKING:
    from sat_backend.memory import pubsub_fts, pubsub_fts_terms
else:  # used by the first pubsub item written or the schema's creation, not by a start
    pubsub_fts = lazy_module("sat_backend.memory.pubsub_fts")
    pubsub_fts_terms = lazy_module("sat_backend.memory.pubsub_fts_terms")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: the longest profile name the core accepts
PROFILE_NAME_LENGTH = 64

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def now() -> float:
    """Default of the time columns (a row's creation or update)."""
    return time.time()


def _search_text_default(context: DefaultExecutionContext) -> str:
    """``search_text`` of a row inserted without it (Core or bulk insert of ``data``)."""
    return pubsub_fts.search_text(context.get_current_parameters().get("data"))


def _profile_fk(primary_key: bool = False) -> Column[int]:
    return Column("profile_id", ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=primary_key,
                  nullable=False)


def _history_fk(primary_key: bool = False) -> Column[str]:
    return Column("history_id", ForeignKey("history.id", ondelete="CASCADE"), primary_key=primary_key,
                  index=not primary_key, nullable=False)


#: one XMPP account of the user, named by them
profiles = Table(
    "profiles", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(PROFILE_NAME_LENGTH), unique=True, nullable=False),
    Column("created", Float, default=now, nullable=False),
)

#: param values shared by all profiles
params_general = Table(
    "params_general", metadata,
    Column("category", String(128), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("value", Text),
)

#: param values of one profile (passwords are stored encrypted)
params_individual = Table(
    "params_individual", metadata,
    Column("category", String(128), primary_key=True),
    Column("name", String(128), primary_key=True),
    _profile_fk(primary_key=True),
    Column("value", Text),
)

#: persistent key/value data of the core and plugins, not tied to a profile
private_general = Table(
    "private_general", metadata,
    Column("namespace", String(128), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", JSON, nullable=True),
)

#: persistent key/value data of the core and plugins for one profile
private_individual = Table(
    "private_individual", metadata,
    Column("namespace", String(128), primary_key=True),
    Column("key", String(255), primary_key=True),
    _profile_fk(primary_key=True),
    Column("value", JSON, nullable=True),
)

#: one message of the history; bodies and subjects are per language
history = Table(
    "history", metadata,
    Column("id", String(64), primary_key=True),
    _profile_fk(),
    #: XEP-0359 stanza-id given by the archive (MAM), used to deduplicate
    Column("stanza_id", String(ID_LENGTH)),
    #: XEP-0359 origin-id given by the sender
    Column("origin_id", String(ID_LENGTH)),
    Column("timestamp", Float, nullable=False),
    Column("received_timestamp", Float),
    Column("source", String(3071), nullable=False),
    Column("source_res", String(1023)),
    Column("dest", String(3071), nullable=False),
    Column("dest_res", String(1023)),
    Column("type", String(16), nullable=False),
    Column("extra", JSON),
    #: the ``id`` attribute of the sender's stanza: XEP-0308/0444 references use it when
    #: the sender gave no origin-id
    Column("message_id", String(ID_LENGTH)),
    #: XEP-0424: when the message was retracted; its bodies are gone (a tombstone)
    Column("retracted", Float),
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



def _texts_by_language(name: str, text: str) -> Table:
    """A table of a message's texts of one kind, one row per language."""
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True),
        _history_fk(),
        Column(text, Text, nullable=False),
        Column("language", String(LANGUAGE_LENGTH)),
    )


#: a message body in one language
messages = _texts_by_language("messages", "message")
#: a message subject in one language
subjects = _texts_by_language("subjects", "subject")

#: the reactions (XEP-0444) of one sender to one message: always that sender's whole
#: set, as the XEP sends it
message_reactions = Table(
    "message_reactions", metadata,
    _history_fk(primary_key=True),
    #: bare JID of who reacted (ours included)
    Column("sender", String(3071), primary_key=True),
    Column("reactions", JSON, nullable=False),
    #: time of the stanza: an older one (replayed by an archive) never replaces a newer one
    Column("timestamp", Float, nullable=False),
)

#: a previous text of a corrected message (XEP-0308): history keeps every version
message_versions = Table(
    "message_versions", metadata,
    Column("id", Integer, primary_key=True),
    _history_fk(),
    #: the replaced bodies, by language
    Column("bodies", JSON, nullable=False),
    #: when a correction replaced them
    Column("replaced", Float, nullable=False),
)

#: a reaction, correction or retraction naming a message we do not have yet (it may
#: come later from the archive): applied, then deleted, when that message arrives
pending_references = Table(
    "pending_references", metadata,
    Column("id", Integer, primary_key=True),
    _profile_fk(),
    #: ``reactions``, ``edit`` or ``retract``
    Column("kind", String(16), nullable=False),
    #: the id the sender gave to the message (origin-id or stanza id)
    Column("reference_id", String(ID_LENGTH), nullable=False),
    #: bare JIDs of the change's sender and recipient (the conversation)
    Column("sender", String(3071), nullable=False),
    Column("recipient", String(3071), nullable=False),
    Column("data", JSON, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_pending_references_profile_id_reference_id", "profile_id", "reference_id"),
)

#: how far the user read a 1:1 conversation: messages received after ``read_until``
#: are unread. One truth for every frontend; moved forward only (by ``MarkRead``, a
#: displayed marker or a reply from another of our devices)
conversation_reads = Table(
    "conversation_reads", metadata,
    _profile_fk(primary_key=True),
    #: bare JID of the other end
    Column("peer", String(3071), primary_key=True),
    #: history timestamp of the last message read
    Column("read_until", Float, nullable=False),
    #: uid of that message, when known
    Column("last_read_uid", String(64)),
)

#: a pubsub node known to the cache; ``sync_state`` None means not analysed yet
pubsub_nodes = Table(
    "pubsub_nodes", metadata,
    Column("id", Integer, primary_key=True),
    _profile_fk(),
    Column("service", String(3071), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("subscribed", Boolean, default=False, nullable=False),
    Column("analyser", String(128)),
    Column("sync_state", Enum(SyncState, name="sync_state", values_callable=lambda e: [m.value for m in e],
                              native_enum=False, length=16, create_constraint=True)),
    Column("sync_state_updated", Float, default=now, nullable=False),
    Column("type", String(128)),
    Column("subtype", String(128)),
    Column("extra", JSON),
    UniqueConstraint("profile_id", "service", "name"),
)

#: a cached pubsub item: raw XML always, parsed data when a parser exists
pubsub_items = Table(
    "pubsub_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("node_id", ForeignKey("pubsub_nodes.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(ITEM_ID_LENGTH), nullable=False),
    Column("data", Text, nullable=False),
    Column("created", Float, default=now, nullable=False),
    Column("updated", Float, default=now, onupdate=now, nullable=False),
    Column("parsed", JSON),
    #: the words of the item's text, for full-text search (:mod:`.pubsub_fts`); set from
    #: ``data`` by the ORM (:class:`~.sqla_mapping.PubsubItem`) and by Core inserts that
    #: leave it out (the default)
    Column("search_text", Text, default=_search_text_default, server_default="", nullable=False),
    #: hex SHA-256 of the payload, canonical (:class:`~sat_backend.core.received_item.ReceivedItem`):
    #: a notified item with the same digest changes nothing. NULL: not known yet (rows
    #: from before revision 0006, or written through the ORM), computed when first needed
    Column("digest", String(64)),
    UniqueConstraint("node_id", "name"),
    # a page of a node in the cache's order, by keyset (:mod:`.pubsub_cache_pages`)
    Index("ix_pubsub_items_node_id_created_id", "node_id", "created", "id"),
)


def _create_search_indexes(_table: Any, connection: Any, **_: Any) -> None:
    pubsub_fts.create_index(connection)
    pubsub_fts_terms.create_term_index(connection)


def _drop_search_indexes(_table: Any, connection: Any, **_: Any) -> None:
    pubsub_fts_terms.drop_term_index(connection)
    pubsub_fts.drop_index(connection)


# the full-text index and its term index are not tables' columns: created with the table
# (new database) or by migrations (0003, 0008)
event.listen(pubsub_items, "after_create", _create_search_indexes)
event.listen(pubsub_items, "after_drop", _drop_search_indexes)
