"""``<message/>`` stanzas to and from :class:`ChatMessage`, the typed form the rest of
the backend uses (house rule: XML stays at the edge).

Handles XEP-0359 (origin-id, stanza-id) and XEP-0203 (delayed delivery timestamps).
A stanza that changes an earlier message (reaction, correction, retraction) is recognised
by the parsers the plugins of those XEPs register (:data:`ChangeParser`) and carries a
:class:`MessageChange` instead of being a new message.
"""

from __future__ import annotations

import json
import os
import time
from itertools import islice
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from twisted.words.protocols.jabber.jid import JID, InvalidFormat
from twisted.words.xish import domish

from sat_backend.core.xmpp.written_stanza import WrittenStanza
from sat_backend.memory.message_change_values import aggregate_reactions
from sat_backend.memory.history_entry import ID_LENGTH, LANGUAGE_LENGTH, HistoryEntry
from sat_backend.memory.stored_message import HistoryMessage

NS_CLIENT = "jabber:client"
NS_SID = "urn:xmpp:sid:0"
NS_DELAY = "urn:xmpp:delay"
NS_XML = "http://www.w3.org/XML/1998/namespace"
#: XEP-0333 Chat Markers: a received ``<markable/>`` is kept as ``extra.markable``
NS_CHAT_MARKERS = "urn:xmpp:chat-markers:0"
#: XEP-0421 Anonymous unique occupant identifiers for MUCs (v0.1.x)
NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0"
#: an occupant-id longer than this is ignored (Prosody's are 44 characters)
MAX_OCCUPANT_ID_LENGTH = 256
#: XEP-0372 References: the ``type='mention'`` ones name who a room message mentions
NS_REFERENCE = "urn:xmpp:reference:0"
#: mention references kept per message, and the longest ``uri`` kept (a JID is at most
#: 3071 bytes; percent-encoding may triple a few characters)
MAX_MENTIONS = 16
MAX_MENTION_URI = 4096
SENDABLE_TYPES = ("chat", "normal", "headline")


class MalformedStanza(ValueError):
    """The stanza cannot be understood; it is logged and dropped."""


@dataclass(frozen=True)
class MessageChange:
    """What a stanza changes in an earlier message.

    :param kind: ``reactions``, ``edit`` or ``retract`` (the ``MessageUpdate`` type).
    :param reference_id: the id the sender gave to name that message.
    :param data: what the kind needs (JSON-able: it may wait in the database).
    """

    kind: str
    reference_id: str
    data: dict[str, Any] = field(default_factory=dict)


#: a plugin's recogniser: the change a ``<message/>`` carries, or None
#: (raises :class:`MalformedStanza` for a broken one)
ChangeParser = Callable[[domish.Element], "MessageChange | None"]


@dataclass(frozen=True)
class ChatMessage:
    """One message, sent or received, as stored in history and sent in ``MessageNew``."""

    uid: str
    timestamp: float
    from_jid: JID
    to_jid: JID
    bodies: dict[str, str]
    subjects: dict[str, str]
    type: str
    extra: dict[str, Any] = field(default_factory=dict)
    origin_id: str | None = None
    stanza_id: str | None = None
    received_timestamp: float | None = None
    #: the ``id`` attribute of the stanza (references use it when there is no origin-id)
    message_id: str | None = None
    change: MessageChange | None = None
    #: the XEP-0421 occupant-id of a ``groupchat`` message, as written (live or archived);
    #: trusted only once the group chat plugin knows the room sets them
    occupant_id: str | None = None
    #: ``uri`` of its XEP-0372 mention references (not stored: the group chat plugin
    #: turns them into ``extra.mention``)
    mentioned: tuple[str, ...] = ()

    def to_history(self) -> HistoryEntry:
        return HistoryEntry(
            id=self.uid,
            stanza_id=self.stanza_id,
            origin_id=self.origin_id,
            message_id=self.message_id,
            timestamp=self.timestamp,
            received_timestamp=self.received_timestamp,
            source=self.from_jid.userhost(),
            source_res=self.from_jid.resource or None,
            dest=self.to_jid.userhost(),
            dest_res=self.to_jid.resource or None,
            type=self.type,
            extra=self.extra or None,
            bodies=self.bodies,
            subjects=self.subjects,
        )

    def bridge_tuple(self) -> tuple[str, float, str, str, dict[str, str], dict[str, str], str, str]:
        """(uid, timestamp, from, to, message, subject, type, extra_json) as on the bridge."""
        return (self.uid, self.timestamp, self.from_jid.full(), self.to_jid.full(), self.bodies,
                self.subjects, self.type, json.dumps(self.extra) if self.extra else "{}")


def history_tuple(entry: HistoryMessage) -> tuple[str, float, str, str, dict[str, str], dict[str, str], str, str]:
    """A stored message in the bridge's history row shape."""
    source = entry.source + (f"/{entry.source_res}" if entry.source_res else "")
    dest = entry.dest + (f"/{entry.dest_res}" if entry.dest_res else "")
    return (
        entry.id, entry.timestamp, source, dest,
        dict(entry.bodies), dict(entry.subjects),
        entry.type, json.dumps(history_extra(entry)),
    )


#: keys of a history row's ``extra`` that say what happened to the message since it was
#: stored: the backend's to write, never a sender's
HISTORY_KEYS = ("reactions", "edits", "edited", "retracted", "moderated", "error")


def history_extra(entry: HistoryMessage) -> dict[str, Any]:
    """The ``extra`` of a stored message, with what happened to it since: ``reactions``
    ``{emoji: [bare JIDs]}``, ``edits`` (previous texts, oldest first) and ``edited``
    (when last corrected), ``retracted`` (when; ``moderated``: ``{by, reason}`` when a room
    moderator did it, XEP-0425, stored with the row), ``error`` (the delivery error the
    recipient's server answered: ``{condition, text}``)."""
    extra = dict(entry.extra or {})
    if entry.reactions:
        extra["reactions"] = aggregate_reactions(entry.reactions)
    if entry.versions:
        extra["edits"] = [{"message": version.bodies, "replaced": version.replaced} for version in entry.versions]
        extra["edited"] = entry.versions[-1].replaced
    if entry.retracted is not None:
        extra["retracted"] = entry.retracted
    return extra


def new_uid() -> str:
    """A new id of ours (a message's uid, and the origin-id and ``id`` of one we send): a
    UUIDv7 (RFC 9562) as 32 hex digits, :func:`uid_at` now."""
    return uid_at(time.time_ns() // 1_000_000)


def uid_at(unix_ms: int) -> str:
    """A UUIDv7 of the millisecond ``unix_ms``: the time first, then 74 random bits.

    Time first so that successive ids sort by time: a message's insert lands at the right
    edge of the history indexes keyed by them (the primary key; a sent message's
    origin-id and message id) instead of on a random leaf page that must be read and
    rewritten. With 200,000 messages in history a sent message's transaction took
    140-162 µs of CPU instead of 228-234 with random ids (issue 14). The millisecond it
    shows is when the message was made, which its recipient knows anyway."""
    value = (unix_ms & _MS_MASK) << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC's variant
    return f"{value:032x}"


#: the 48 bits of a UUIDv7's time
_MS_MASK = (1 << 48) - 1


def build_message_element(message: ChatMessage) -> domish.Element:
    element = domish.Element((NS_CLIENT, "message"))
    element["to"] = message.to_jid.full()
    element["type"] = message.type
    element["id"] = message.uid
    for tag, by_lang in (("subject", message.subjects), ("body", message.bodies)):
        for lang, text in by_lang.items():
            child = element.addElement(tag, content=text)
            if lang:
                child[(NS_XML, "lang")] = lang
    element.addElement((NS_SID, "origin-id"))["id"] = message.uid
    return element


def message_xml(message: ChatMessage) -> WrittenStanza:
    """The stanza of :func:`build_message_element`, written straight as text, the way our
    stream writes it (``jabber:client`` the default namespace): what ``MessageSend``
    sends. Building the ``domish`` tree and serialising it cost ~60 µs of the backend's
    CPU per message sent (issue 14), several times the string itself; a stanza that
    carries more (a change, a call proposal) is still built as a tree.
    It escapes with ``domish.escapeToXml``, as the tree's serialiser does;
    ``tests/unit/test_message_xml.py`` holds the two to the same output."""
    escape = domish.escapeToXml
    parts = [f"<message to='{escape(message.to_jid.full(), 1)}' type='{escape(message.type, 1)}' "
             f"id='{escape(message.uid, 1)}'>"]
    for tag, by_lang in (("subject", message.subjects), ("body", message.bodies)):
        for lang, text in by_lang.items():
            lang_attribute = f" xml:lang='{escape(lang, 1)}'" if lang else ""
            parts.append(f"<{tag}{lang_attribute}>{escape(text)}</{tag}>")
    parts.append(f"<origin-id xmlns='{NS_SID}' id='{escape(message.uid, 1)}'/></message>")
    first = "subject" if message.subjects else "body"
    return WrittenStanza("".join(parts), f"<message type={message.type[:20]!r}> {first}")


def parse_message_element(
    element: domish.Element, own_jid: JID, change_parsers: Sequence[ChangeParser] = (),
    *, archive: str | None = None,
) -> ChatMessage | None:
    """A received ``<message/>`` as a :class:`ChatMessage`, or None when there is nothing
    to keep (no body nor subject nor change: chat states, receipts…; or an error).

    :param change_parsers: recognisers of changes to earlier messages; the first match
        is the message's ``change`` (its body is then a correction or a fallback).
    :param archive: the bare JID whose XEP-0359 stanza-id is trusted (default: our own
        archive; a room's for its ``groupchat`` messages).
    :raises MalformedStanza: addresses that are not JIDs, a type that does not exist, a
        broken change.
    """
    message_type = element.getAttribute("type", "normal")
    if message_type == "error":
        return None
    if message_type not in ("chat", "normal", "headline", "groupchat"):
        raise MalformedStanza(f"unknown message type {message_type!r}")
    bodies = texts(element, "body")
    subjects = texts(element, "subject")
    change = next((found for parser in change_parsers if (found := parser(element)) is not None), None)
    if not bodies and not subjects and change is None:
        return None
    try:
        sender = JID(element["from"]) if element.hasAttribute("from") else JID(own_jid.userhost())
        recipient = JID(element["to"]) if element.hasAttribute("to") else own_jid
    except (InvalidFormat, UnicodeError) as exc:
        raise MalformedStanza(f"bad address: {exc}") from None
    now = time.time()
    delayed = _delay_stamp(element)
    origin = first_child(element, NS_SID, "origin-id")
    return ChatMessage(
        uid=new_uid(),
        timestamp=delayed if delayed is not None else now,
        from_jid=sender,
        to_jid=recipient,
        bodies=bodies,
        subjects=subjects,
        type=message_type,
        origin_id=bounded_id(origin.getAttribute("id")) if origin is not None else None,
        stanza_id=_stanza_id(element, archive or own_jid.userhost()),
        received_timestamp=now,
        message_id=bounded_id(element.getAttribute("id")),
        change=change,
        extra={"markable": True} if _is_markable(element) else {},
        occupant_id=occupant_id_of(element) if message_type == "groupchat" else None,
        mentioned=_mention_uris(element) if message_type == "groupchat" else (),
    )


def _mention_uris(element: domish.Element) -> tuple[str, ...]:
    """The ``uri`` of a message's XEP-0372 ``type='mention'`` references (bounded)."""
    uris = (str(child.getAttribute("uri", "")) for child in children_named(element, NS_REFERENCE, "reference")
            if child.getAttribute("type") == "mention")
    return tuple(islice((uri for uri in uris if 0 < len(uri) <= MAX_MENTION_URI), MAX_MENTIONS))


def _is_markable(element: domish.Element) -> bool:
    """Whether the sender asks for a displayed marker (XEP-0333 ``<markable/>``; the
    marker copies the message's ``id``, so one without an id cannot be marked)."""
    return bool(element.getAttribute("id")) and first_child(element, NS_CHAT_MARKERS, "markable") is not None


def parse_forwarded(
    forwarded: domish.Element, own_jid: JID, *, stanza_id: str | None = None,
    change_parsers: Sequence[ChangeParser] = (),
) -> ChatMessage | None:
    """The message inside a XEP-0297 ``<forwarded/>`` (carbons, MAM results); its
    ``<delay/>`` gives the original time. ``stanza_id``: the archive id, for MAM.

    :raises MalformedStanza: no message inside, or a malformed one.
    """
    inner = first_child(forwarded, NS_CLIENT, "message")
    if inner is None:
        raise MalformedStanza("forwarded element without a message")
    message = parse_message_element(inner, own_jid, change_parsers)
    if message is None:
        return None
    delayed = _delay_stamp(forwarded)
    changes: dict[str, Any] = {}
    if delayed is not None:
        changes["timestamp"] = delayed
    if stanza_id is not None:
        changes["stanza_id"] = bounded_id(stanza_id)
    return replace(message, **changes) if changes else message


def texts(element: domish.Element, name: str) -> dict[str, str]:
    """The ``<body/>`` (or ``<subject/>``) texts of a message, by ``xml:lang``."""
    found: dict[str, str] = {}
    for child in element.children:
        if isinstance(child, domish.Element) and child.name == name and child.uri in (NS_CLIENT, None, ""):
            lang = bounded_language(child.getAttribute((NS_XML, "lang")) or "")
            found.setdefault(lang, str(child))
    return found


def bounded_id(value: object, limit: int = ID_LENGTH) -> str | None:
    """A peer's id as we keep it: None for a missing, empty or over-long one (longer than
    history's columns hold, it could not name a stored message either)."""
    if not value or len(str(value)) > limit:
        return None
    return str(value)


def bounded_language(tag: str) -> str:
    """``tag`` cut to what history keeps, the way RFC 4647 looks a tag up: its last
    subtags dropped until it fits ("" when even the first does not), so a text in a
    hostile or odd language is kept under a broader one rather than lost."""
    while len(tag) > LANGUAGE_LENGTH:
        tag = tag.rpartition("-")[0]
    return tag


def change_reference(element: domish.Element, uri: str, name: str) -> tuple[domish.Element, str] | None:
    """The child that makes a ``<message/>`` a change (``<reactions/>``, ``<replace/>``,
    ``<retract/>``…) and the ``id`` of the message it names; None without such a child.

    :raises MalformedStanza: the child names no message.
    """
    child = first_child(element, uri, name)
    if child is None:
        return None
    reference = child.getAttribute("id")
    if not reference:
        raise MalformedStanza(f"<{name}/> without the id of its message")
    if bounded_id(reference) is None:
        raise MalformedStanza(f"<{name}/> names an id longer than {ID_LENGTH} characters")
    return child, str(reference)


def first_child(element: domish.Element, uri: str, name: str) -> domish.Element | None:
    """The first child element ``{uri}name``: a plain loop, as ``element.elements(uri,
    name)`` is a generator asking zope.interface about each child (a received message is
    searched this way 8 times, issue 14)."""
    for child in element.children:
        if isinstance(child, domish.Element) and child.name == name and child.uri == uri:
            return child
    return None


def children_named(element: domish.Element, uri: str, name: str) -> list[domish.Element]:
    """Every child element ``{uri}name``, as :func:`first_child` finds the first one
    (``element.elements(uri, name)`` asks zope.interface about each child)."""
    return [child for child in element.children
            if isinstance(child, domish.Element) and child.name == name and child.uri == uri]


def occupant_id_of(element: domish.Element) -> str | None:
    """The XEP-0421 occupant-id a room put in a stanza (bounded), or None."""
    child = first_child(element, NS_OCCUPANT_ID, "occupant-id")
    return bounded_id(child.getAttribute("id"), MAX_OCCUPANT_ID_LENGTH) if child is not None else None


def _stanza_id(element: domish.Element, archive: str) -> str | None:
    """XEP-0359 stanza-id given by ``archive`` (any other ``by`` could be forged)."""
    for child in children_named(element, NS_SID, "stanza-id"):
        if child.getAttribute("by") == archive and child.getAttribute("id"):
            return bounded_id(child["id"])
    return None


def _delay_stamp(element: domish.Element) -> float | None:
    delay = first_child(element, NS_DELAY, "delay")
    if delay is None or not delay.getAttribute("stamp"):
        return None
    try:
        return datetime.fromisoformat(str(delay["stamp"]).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
