"""XEP-0045 (v1.35) stanzas to and from typed data: occupants' presences, status codes,
join and nick-change presences, subjects, errors (house rule: XML stays at the edge).

What a room sends is bounded and checked here: a nick is the resource of an address that
parsed as a JID, roles and affiliations outside the XEP's sets read as ``none``, texts
(reasons, statuses, subjects) are cut to a bound and anything XML forbids never gets this
far (the stream parser refused it). What we send is checked by :func:`check_nick` first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID, InvalidFormat
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.im.message_stanza import NS_OCCUPANT_ID as NS_OCCUPANT_ID, occupant_id_of as occupant_id_of
from sat_backend.core.jids import parse_jid
from sat_backend.core.json_arguments import parse_json_object
from sat_bridge.xml_text import check_xml_text

NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = f"{NS_MUC}#user"
NS_MUC_OWNER = f"{NS_MUC}#owner"
NS_MUC_ADMIN = f"{NS_MUC}#admin"
NS_SID = "urn:xmpp:sid:0"
NS_DATA_FORMS = "jabber:x:data"
NS_CLIENT = "jabber:client"

ROLES = ("moderator", "participant", "visitor", "none")
AFFILIATIONS = ("owner", "admin", "member", "outcast", "none")
SHOW_VALUES = ("away", "chat", "dnd", "xa")

# status codes (XEP-0045 §15.6.2) the plugin acts on
STATUS_SELF = 110
STATUS_CREATED = 201
STATUS_NICK_ASSIGNED = 210
STATUS_BANNED = 301
STATUS_NICK_CHANGED = 303
STATUS_KICKED = 307
STATUS_AFFILIATION_REMOVED = 321
STATUS_MEMBERS_ONLY_REMOVED = 322
STATUS_SHUTDOWN = 332
STATUS_ERROR_KICK = 333
#: why we left a room, by the status code that says so (``MucRoomLeft`` reasons)
LEAVE_REASONS = {
    STATUS_BANNED: "banned",
    STATUS_KICKED: "kicked",
    STATUS_AFFILIATION_REMOVED: "removed",
    STATUS_MEMBERS_ONLY_REMOVED: "removed",
    STATUS_SHUTDOWN: "shutdown",
    STATUS_ERROR_KICK: "error",
}

#: a nick is a JID resource: RFC 7622 §3.4 bounds it to 1023 bytes
MAX_NICK_BYTES = 1023
#: reasons, statuses and each subject text are cut to this many characters
MAX_TEXT_LENGTH = 4096
#: subjects we set are refused above this (by language, all together)
MAX_SUBJECT_LENGTH = 4096
#: status codes read from one presence (a room sends a handful)
MAX_STATUS_CODES = 16
#: discussion history a join may ask for
MAX_HISTORY = 1000
CONFLICT_MODES = ("suffix", "error")


class MalformedPresence(ValueError):
    """A room's presence we cannot understand; it is logged and dropped."""


@dataclass(frozen=True)
class Occupant:
    """One occupant of a room as its last presence showed it."""

    nick: str
    role: str = "none"
    affiliation: str = "none"
    #: the occupant's real full JID, when the room shows it to us (non-anonymous rooms, moderators)
    real_jid: str | None = None
    show: str = ""
    status: str = ""
    #: XEP-0421 stable id given by the room, when it does
    occupant_id: str | None = None

    def attributes(self) -> dict[str, str]:
        """The ``a{ss}`` of ``MucOccupantsGet`` / ``MucOccupantChanged`` (absent = unknown)."""
        found = {"role": self.role, "affiliation": self.affiliation, "show": self.show, "status": self.status}
        if self.real_jid:
            found["jid"] = self.real_jid
        if self.occupant_id:
            found["occupant_id"] = self.occupant_id
        return found


@dataclass(frozen=True)
class OccupantPresence:
    """A presence from ``room/nick``, parsed."""

    room: JID
    occupant: Occupant
    available: bool
    codes: frozenset[int] = frozenset()
    #: the nick an occupant goes by now (status 303 on its unavailable presence)
    new_nick: str | None = None
    #: why a moderator removed the occupant, or why the room was destroyed
    reason: str = ""
    #: the room was destroyed (``<destroy/>``)
    destroyed: bool = False

    @property
    def is_self(self) -> bool:
        return STATUS_SELF in self.codes


@dataclass(frozen=True)
class RoomError:
    """A ``type='error'`` stanza from a room: RFC 6120 condition and text."""

    condition: str
    text: str = ""

    def describe(self) -> str:
        return f"{self.condition}: {self.text}" if self.text else self.condition


@dataclass
class JoinOptions:
    """``options_json`` of ``MucJoin``, checked."""

    #: ``suffix``: a nick in use is retried as ``nick_2``, ``nick_3``…; ``error``: ``Conflict``
    nick_conflict: str = "suffix"
    #: at most this many messages of discussion history (None: the room's default)
    history_max: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_join_options(options_json: str) -> JoinOptions:
    """:raises InvalidArgument: not a JSON object, unknown key, bad value."""
    options = parse_json_object(options_json, "options_json", ("nick_conflict", "history_max"))
    conflict = options.get("nick_conflict", "suffix")
    if conflict not in CONFLICT_MODES:
        raise InvalidArgument(f"nick_conflict must be one of {', '.join(CONFLICT_MODES)}")
    history_max = options.get("history_max")
    if history_max is not None and (
        isinstance(history_max, bool) or not isinstance(history_max, int) or not 0 <= history_max <= MAX_HISTORY
    ):
        raise InvalidArgument(f"history_max must be an integer from 0 to {MAX_HISTORY}")
    return JoinOptions(nick_conflict=conflict, history_max=history_max)


def check_nick(nick: str, room: JID) -> JID:
    """The occupant JID ``room/nick``, checked before anything is sent.

    :raises InvalidArgument: empty, too long, a character XML forbids, or not a valid
        JID resource (RFC 7622 resourceprep).
    """
    if not nick or not nick.strip():
        raise InvalidArgument("nick must not be empty")
    if len(nick.encode()) > MAX_NICK_BYTES:
        raise InvalidArgument(f"nick is longer than {MAX_NICK_BYTES} bytes")
    check_xml_text(nick, "nick")
    occupant = parse_jid(f"{room.userhost()}/{nick}", "nick")
    if len((occupant.resource or "").encode()) > MAX_NICK_BYTES:
        raise InvalidArgument(f"nick is longer than {MAX_NICK_BYTES} bytes once prepared")
    return occupant


def check_room_jid(text: str) -> JID:
    """A room's bare JID (``room@service``).

    :raises InvalidArgument: not a JID, no local part, or a resource given.
    """
    room = parse_jid(text, "room_jid")
    if not room.user or room.resource:
        raise InvalidArgument("room_jid must be a room's bare JID, room@service")
    return room.userhostJID()


def status_codes(x_element: domish.Element | None) -> frozenset[int]:
    """The ``<status code/>`` values of a ``muc#user`` element (at most :data:`MAX_STATUS_CODES`)."""
    if x_element is None:
        return frozenset()
    codes: set[int] = set()
    for child in x_element.elements(NS_MUC_USER, "status"):
        code = child.getAttribute("code", "")
        if len(code) == 3 and code.isdigit():
            codes.add(int(code))
            if len(codes) >= MAX_STATUS_CODES:
                break
    return frozenset(codes)


def parse_occupant_presence(element: domish.Element) -> OccupantPresence:
    """A presence from an occupant JID (``room/nick``).

    :raises MalformedPresence: no ``from``, not an occupant JID.
    """
    sender = _sender(element)
    if not sender.user or not sender.resource:
        raise MalformedPresence("a room presence comes from room@service/nick")
    x_element = _child(element, NS_MUC_USER, "x")
    item = _child(x_element, NS_MUC_USER, "item") if x_element is not None else None
    codes = status_codes(x_element)
    available = element.getAttribute("type", "available") != "unavailable"
    occupant = Occupant(
        nick=sender.resource,
        role=_one_of(item, "role", ROLES),
        affiliation=_one_of(item, "affiliation", AFFILIATIONS),
        real_jid=_real_jid(item),
        show=_text_of(element, "show") if _text_of(element, "show") in SHOW_VALUES else "",
        status=_text_of(element, "status"),
        occupant_id=occupant_id_of(element),
    )
    new_nick = item.getAttribute("nick") if item is not None and STATUS_NICK_CHANGED in codes else None
    if new_nick is not None:
        try:
            new_nick = check_nick(str(new_nick), sender).resource
        except InvalidArgument:
            raise MalformedPresence("a nick change to an invalid nick") from None
    destroy = _child(x_element, NS_MUC_USER, "destroy") if x_element is not None else None
    reason_parent = destroy if destroy is not None else item
    return OccupantPresence(
        room=sender.userhostJID(), occupant=occupant, available=available, codes=codes, new_nick=new_nick,
        reason=_text_of(reason_parent, "reason", NS_MUC_USER) if reason_parent is not None else "",
        destroyed=destroy is not None,
    )


def parse_error(element: domish.Element) -> RoomError:
    """The error a ``type='error'`` presence or message carries."""
    stanza_error = error.exceptionFromStanza(element)
    return RoomError(stanza_error.condition or "undefined-condition", (stanza_error.text or "")[:MAX_TEXT_LENGTH])


def join_presence(occupant: JID, password: str | None, history_max: int | None,
                  since: str | None, extensions: list[domish.Element]) -> domish.Element:
    """The presence that enters a room (§7.2), with the discussion history we want
    (§7.2.14: ``maxstanzas``, and ``since`` the last message we have)."""
    presence = domish.Element((NS_CLIENT, "presence"))
    presence["to"] = occupant.full()
    muc = presence.addElement((NS_MUC, "x"))
    if password:
        muc.addElement("password", content=password)
    if history_max is not None or since is not None:
        history = muc.addElement("history")
        if history_max is not None:
            history["maxstanzas"] = str(history_max)
        if since is not None:
            history["since"] = since
    for extension in extensions:
        presence.addChild(extension)
    return presence


def nick_presence(occupant: JID, extensions: list[domish.Element]) -> domish.Element:
    """The presence that changes our nick (§7.6): to the new occupant JID, no ``<x/>``."""
    presence = domish.Element((NS_CLIENT, "presence"))
    presence["to"] = occupant.full()
    for extension in extensions:
        presence.addChild(extension)
    return presence


def leave_presence(occupant: JID) -> domish.Element:
    presence = domish.Element((NS_CLIENT, "presence"))
    presence["to"] = occupant.full()
    presence["type"] = "unavailable"
    return presence


def instant_room_request() -> domish.Element:
    """The owner's empty submitted form that accepts the default configuration (§10.1.2):
    the IQ's payload, for a room that status 201 says we just created."""
    query = domish.Element((NS_MUC_OWNER, "query"))
    form = query.addElement((NS_DATA_FORMS, "x"))
    form["type"] = "submit"
    return query


def subject_message(room: JID, subjects: dict[str, str], message_id: str) -> domish.Element:
    """A ``groupchat`` message with subjects and no body (§8.1)."""
    message = domish.Element((NS_CLIENT, "message"))
    message["to"] = room.userhost()
    message["type"] = "groupchat"
    message["id"] = message_id
    for lang, text in subjects.items():
        child = message.addElement("subject", content=text)
        if lang:
            child[("http://www.w3.org/XML/1998/namespace", "lang")] = lang
    if not subjects:
        message.addElement("subject")  # an empty subject clears it
    return message


def subject_of(element: domish.Element) -> dict[str, str] | None:
    """The subjects (by ``xml:lang``) of a room's subject change: a ``groupchat`` message
    with ``<subject/>`` and no ``<body/>`` (§8.1); None for any other message. An empty
    subject (cleared) is ``{}``."""
    subjects: dict[str, str] = {}
    found = False
    for child in element.elements():
        if child.uri not in (NS_CLIENT, None, ""):
            continue
        if child.name == "body":
            return None
        if child.name == "subject":
            found = True
            text = str(child)[:MAX_TEXT_LENGTH]
            if text:
                subjects.setdefault(child.getAttribute(("http://www.w3.org/XML/1998/namespace", "lang")) or "", text)
    return subjects if found else None


def _sender(element: domish.Element) -> JID:
    if not element.hasAttribute("from"):
        raise MalformedPresence("no sender")
    try:
        return JID(str(element["from"]))
    except (InvalidFormat, UnicodeError, IndexError, ValueError):
        raise MalformedPresence("the sender is not a JID") from None


def _child(element: domish.Element | None, uri: str, name: str) -> domish.Element | None:
    if element is None:
        return None
    for child in element.elements(uri, name):
        return child
    return None


def _one_of(item: domish.Element | None, attribute: str, allowed: tuple[str, ...]) -> str:
    value = item.getAttribute(attribute) if item is not None else None
    return str(value) if value in allowed else "none"


def _real_jid(item: domish.Element | None) -> str | None:
    value = item.getAttribute("jid") if item is not None else None
    if not value:
        return None
    try:
        return parse_jid(str(value), "occupant jid").full()
    except InvalidArgument:
        return None


def _text_of(element: domish.Element, name: str, uri: str = NS_CLIENT) -> str:
    for child in element.elements():
        if child.name == name and child.uri in (uri, None, ""):
            return str(child)[:MAX_TEXT_LENGTH]
    return ""
