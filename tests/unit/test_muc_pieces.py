"""Pure pieces of group chats (XEP-0045): occupant presences and status codes at the edge,
the room rules they drive, options, hostile input."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest
from twisted.words.protocols.jabber.error import StanzaError
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from tx_xmpp.generic import parseXml

from sat_backend.core.exceptions import Conflict, InvalidArgument, NotFound, PermissionDenied, Stanza
from sat_backend.core.im.message_stanza import parse_forwarded, parse_message_element
from sat_backend.plugins.muc.administration import (
    admin_error, admin_item, affiliation_list, check_reason, parse_invitation,
)
from sat_backend.plugins.muc.bookmarks import Bookmark, bookmark_item, parse_bookmark
from sat_backend.plugins.muc.room_history import as_room_message, reactor_of, since_text
from sat_backend.plugins.muc.rooms import (
    JOINED, JOINING, MAX_OCCUPANTS, Room, apply_presence, refusal_error, suffixed_nicks,
)
from sat_backend.plugins.muc.stanzas import (
    MAX_STATUS_CODES, MAX_TEXT_LENGTH, NS_MUC, NS_MUC_ADMIN, MalformedPresence, Occupant, RoomError, check_nick,
    check_room_jid, instant_room_request, join_presence, occupant_id_of, parse_error, parse_occupant_presence,
    status_codes,
    subject_of,
)
from sat_backend.plugins.muc.stanzas import parse_join_options
from sat_backend.plugins.plugin_xep_0444 import parse_reactions

ROOM = JID("room@chat.localhost")
ME = JID("alice@localhost/desk")
MUC_USER = "http://jabber.org/protocol/muc#user"


def element(xml: str) -> domish.Element:
    parsed = parseXml(xml.encode())
    assert isinstance(parsed, domish.Element)
    return parsed


def presence(nick: str, *, codes: tuple[int, ...] = (), role: str = "participant", affiliation: str = "none",
             kind: str = "", item: str = "", extra: str = "") -> domish.Element:
    type_attribute = f" type='{kind}'" if kind else ""
    statuses = "".join(f"<status code='{code}'/>" for code in codes)
    return element(
        f"<presence xmlns='jabber:client' from='room@chat.localhost/{nick}' to='alice@localhost/desk'{type_attribute}>"
        f"<x xmlns='{MUC_USER}'><item role='{role}' affiliation='{affiliation}' {item}/>{statuses}</x>{extra}"
        "</presence>"
    )


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """For the futures a room resolves (never run: results are set synchronously)."""
    new_loop = asyncio.new_event_loop()
    yield new_loop
    new_loop.close()


def room(state: str = JOINED, nick: str = "alice") -> Room:
    return Room(ROOM, nick, state=state)


def test_occupant_presence_is_parsed() -> None:
    parsed = parse_occupant_presence(presence(
        "carol", role="moderator", affiliation="owner", item="jid='carol@localhost/phone'",
        extra="<show>away</show><status>lunch</status><occupant-id xmlns='urn:xmpp:occupant-id:0' id='abc'/>",
    ))
    assert parsed.room == ROOM and parsed.available and not parsed.is_self
    assert parsed.occupant == Occupant("carol", "moderator", "owner", "carol@localhost/phone", "away", "lunch", "abc")
    assert parsed.occupant.attributes() == {"role": "moderator", "affiliation": "owner", "show": "away",
                                            "status": "lunch", "jid": "carol@localhost/phone", "occupant_id": "abc"}


def test_hostile_presences_are_bounded() -> None:
    parsed = parse_occupant_presence(presence(
        "eve", role="god", affiliation="emperor", item="jid='not a jid@@'",
        extra=f"<show>party</show><status>{'s' * (MAX_TEXT_LENGTH + 10)}</status>"
              f"<occupant-id xmlns='urn:xmpp:occupant-id:0' id='{'i' * 300}'/>",
    ))
    assert (parsed.occupant.role, parsed.occupant.affiliation, parsed.occupant.real_jid) == ("none", "none", None)
    assert parsed.occupant.show == "" and len(parsed.occupant.status) == MAX_TEXT_LENGTH
    assert parsed.occupant.occupant_id is None
    many = "".join(f"<status code='{code}'/>" for code in range(100, 200)) + "<status code='x1'/><status code='1000'/>"
    assert len(status_codes(element(f"<x xmlns='{MUC_USER}'>{many}</x>"))) == MAX_STATUS_CODES
    assert status_codes(element(f"<x xmlns='{MUC_USER}'><status code='abc'/><status code='1100'/></x>")) == frozenset()
    for bad in ("<presence xmlns='jabber:client'/>", "<presence xmlns='jabber:client' from='chat.localhost/x'/>",
                "<presence xmlns='jabber:client' from='room@chat.localhost'/>",
                "<presence xmlns='jabber:client' from='a@b@c/x'/>"):
        with pytest.raises(MalformedPresence):
            parse_occupant_presence(element(bad))
    with pytest.raises(MalformedPresence):   # a nick change to a nick that is no JID resource
        parse_occupant_presence(presence("bob", kind="unavailable", codes=(303,), item=f"nick='{'x' * 1100}'"))


def test_entering_a_room_self_presence_and_creation(loop: asyncio.AbstractEventLoop) -> None:
    state = room(JOINING)
    state.entering = loop.create_future()
    # others' presences first: kept, not announced (MucOccupantsGet gives them)
    assert apply_presence(state, parse_occupant_presence(presence("carol"))) == []
    events = apply_presence(state, parse_occupant_presence(presence(
        "alice_x", codes=(110, 201, 210), role="moderator", affiliation="owner")))
    assert [event.kind for event in events] == ["joined"]
    assert state.state == JOINED and state.created and state.nick == "alice_x"   # 210: the room's nick
    assert state.entering.result() == "alice_x"
    assert set(state.occupants) == {"carol", "alice_x"}


def test_a_room_without_status_110_is_entered_by_our_nick() -> None:
    state = room(JOINING)
    apply_presence(state, parse_occupant_presence(presence("alice")))
    assert state.state == JOINED and not state.created


def test_occupants_join_change_nick_and_leave() -> None:
    state = room()
    assert [(e.change, e.occupant.nick) for e in apply_presence(state, parse_occupant_presence(presence("bob")))
            if e.occupant] == [("joined", "bob")]
    assert apply_presence(state, parse_occupant_presence(presence("bob", role="visitor")))[0].change == "updated"
    renamed = apply_presence(state, parse_occupant_presence(
        presence("bob", kind="unavailable", codes=(303,), item="nick='bobby'")))
    assert [(e.change, e.new_nick) for e in renamed] == [("nick", "bobby")]
    assert apply_presence(state, parse_occupant_presence(presence("bobby")))[0].change == "updated"   # not a newcomer
    kicked = apply_presence(state, parse_occupant_presence(presence("bobby", kind="unavailable", codes=(307,),
                                                                    role="none")))
    assert kicked[0].change == "kicked" and set(state.occupants) == set()


def test_we_are_kicked_banned_or_the_room_goes() -> None:
    for codes, extra, reason in (((110, 307), "", "kicked"), ((110, 301), "", "banned"), ((110,), "", "left"),
                                 ((110, 332), "", "shutdown"), ((110,), "destroy", "destroyed")):
        state = room()
        if extra:
            xml = (f"<presence xmlns='jabber:client' from='room@chat.localhost/alice' type='unavailable'>"
                   f"<x xmlns='{MUC_USER}'><item role='none' affiliation='none'/><status code='110'/>"
                   "<destroy><reason>gone</reason></destroy></x></presence>")
            parsed = parse_occupant_presence(element(xml))
        else:
            parsed = parse_occupant_presence(presence("alice", kind="unavailable", codes=codes, role="none"))
        events = apply_presence(state, parsed)
        assert [(event.kind, event.reason) for event in events] == [("left", reason)]


def test_our_nick_change(loop: asyncio.AbstractEventLoop) -> None:
    state = room()
    state.nick_change = loop.create_future()
    apply_presence(state, parse_occupant_presence(presence("alice", kind="unavailable", codes=(110, 303),
                                                           item="nick='alicia'")))
    assert state.nick == "alicia" and not state.nick_change.done()
    apply_presence(state, parse_occupant_presence(presence("alicia", codes=(110,))))
    assert state.nick_change.result() == "alicia"


def test_occupants_are_bounded() -> None:
    state = room()
    state.occupants = {f"n{number}": Occupant(f"n{number}") for number in range(MAX_OCCUPANTS)}
    assert apply_presence(state, parse_occupant_presence(presence("one too many"))) == []
    assert "one too many" not in state.occupants


def test_refusals_become_typed_errors() -> None:
    assert isinstance(refusal_error(ROOM, RoomError("conflict")), Conflict)
    for condition in ("not-authorized", "forbidden", "registration-required", "not-allowed"):
        assert isinstance(refusal_error(ROOM, RoomError(condition)), PermissionDenied)
    assert isinstance(refusal_error(ROOM, RoomError("item-not-found")), NotFound)
    assert isinstance(refusal_error(ROOM, RoomError("not-acceptable")), InvalidArgument)
    other = refusal_error(ROOM, RoomError("resource-constraint", "busy"))
    assert isinstance(other, Stanza) and str(other).startswith("resource-constraint: room@chat.localhost")
    error = parse_error(element(
        "<presence xmlns='jabber:client' from='room@chat.localhost/alice' type='error'>"
        "<error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"))
    assert error.condition == "conflict"
    assert suffixed_nicks("alice", 3) == ["alice", "alice_2", "alice_3"]


@pytest.mark.parametrize("nick", ["", " ", "a\x00b", "a\x0bb", "x" * 1024, "é" * 600])
def test_bad_nicks(nick: str) -> None:
    with pytest.raises(InvalidArgument):
        check_nick(nick, ROOM)


@pytest.mark.parametrize("room_jid", ["", "chat.localhost", "room@chat.localhost/nick", "@chat.localhost", "a" * 4000])
def test_bad_room_jids(room_jid: str) -> None:
    with pytest.raises(InvalidArgument):
        check_room_jid(room_jid)


@pytest.mark.parametrize("options, expected", [
    ("{}", ("suffix", None)), ('{"nick_conflict": "error"}', ("error", None)), ('{"history_max": 0}', ("suffix", 0)),
])
def test_join_options(options: str, expected: tuple[Any, ...]) -> None:
    parsed = parse_join_options(options)
    assert (parsed.nick_conflict, parsed.history_max) == expected


@pytest.mark.parametrize("options", ['{"history_max": 1001}', '{"history_max": true}', '{"history_max": "5"}',
                                     '{"nick_conflict": 1}', '{"other": 1}', "[]", "{"])
def test_bad_join_options(options: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_join_options(options)


def test_join_and_configuration_stanzas() -> None:
    join = join_presence(JID("room@chat.localhost/alice"), "pw", 20, "2026-01-01T00:00:00Z", [])
    x = next(join.elements(NS_MUC, "x"))
    assert join["to"] == "room@chat.localhost/alice" and str(next(x.elements(NS_MUC, "password"))) == "pw"
    history = next(x.elements(NS_MUC, "history"))
    assert (history["maxstanzas"], history["since"]) == ("20", "2026-01-01T00:00:00Z")
    assert not list(next(join_presence(JID("r@c/a"), None, None, None, []).elements(NS_MUC, "x")).elements())
    form = next(instant_room_request().elements("jabber:x:data", "x"))
    assert form["type"] == "submit" and not list(form.elements())


def test_subjects() -> None:
    def subject(xml: str) -> dict[str, str] | None:
        return subject_of(element(f"<message xmlns='jabber:client' type='groupchat' from='room@chat.localhost/a'>"
                                  f"{xml}</message>"))
    assert subject("<subject>topic</subject><subject xml:lang='fr'>sujet</subject>") == {"": "topic", "fr": "sujet"}
    assert subject("<subject/>") == {}
    assert subject("<subject>a</subject><body>b</body>") is None   # a message with a subject, not a change
    assert subject("<body>b</body>") is None
    assert subject(f"<subject>{'x' * (MAX_TEXT_LENGTH * 2)}</subject>") == {"": "x" * MAX_TEXT_LENGTH}


def test_room_stanza_ids_are_trusted_from_the_room_only() -> None:
    xml = ("<message xmlns='jabber:client' type='groupchat' from='room@chat.localhost/carol' to='alice@localhost/desk'>"
           "<body>hi</body><stanza-id xmlns='urn:xmpp:sid:0' by='room@chat.localhost' id='room-1'/>"
           "<stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='forged'/></message>")
    message = parse_message_element(element(xml), ME, archive="room@chat.localhost")
    assert message is not None and message.stanza_id == "room-1"
    other_room = parse_message_element(element(xml), ME, archive="other@chat.localhost")
    assert other_room is not None and other_room.stanza_id is None


def test_invitations_are_parsed_and_bounded() -> None:
    direct = element("<message xmlns='jabber:client' from='bob@localhost/pc'>"
                     "<x xmlns='jabber:x:conference' jid='room@chat.localhost' reason='tea' password='pw'/></message>")
    assert parse_invitation(direct) == (ROOM, "bob@localhost/pc", "tea", "pw")
    mediated = element(
        "<message xmlns='jabber:client' from='room@chat.localhost'>"
        f"<x xmlns='{MUC_USER}'><invite from='room@chat.localhost/bob'><reason>come</reason></invite>"
        "<password>pw</password></x><x xmlns='jabber:x:conference' jid='room@chat.localhost'>come</x></message>")
    assert parse_invitation(mediated) == (ROOM, "room@chat.localhost/bob", "come", "pw")
    long_password = element("<message xmlns='jabber:client' from='bob@localhost'>"
                            f"<x xmlns='jabber:x:conference' jid='room@chat.localhost' password='{'p' * 2000}'/></message>")
    assert parse_invitation(long_password) == (ROOM, "bob@localhost", "", None)
    for bad in ("<x xmlns='jabber:x:conference' jid='not a room'/>", "<x xmlns='jabber:x:conference'/>",
                "<x xmlns='jabber:x:conference' jid='room@chat.localhost/nick'/>", f"<x xmlns='{MUC_USER}'/>"):
        assert parse_invitation(element(f"<message xmlns='jabber:client' from='bob@localhost'>{bad}</message>")) is None


def test_admin_requests_and_answers() -> None:
    query = admin_item({"nick": "bob", "role": "none"}, "bye")
    item = next(query.elements(NS_MUC_ADMIN, "item"))
    assert (item["nick"], item["role"], str(next(item.elements(NS_MUC_ADMIN, "reason")))) == ("bob", "none", "bye")
    answer = element(f"<iq xmlns='jabber:client' type='result'><query xmlns='{NS_MUC_ADMIN}'>"
                     "<item affiliation='outcast' jid='bob@localhost'/><item affiliation='outcast' jid='a@@b'/>"
                     "<item affiliation='outcast'/><item affiliation='member' jid='c@localhost' nick='cc'/></query></iq>")
    assert affiliation_list(answer) == {"bob@localhost": "", "c@localhost": "cc"}
    assert isinstance(admin_error(ROOM, "x", StanzaError("forbidden")), PermissionDenied)
    assert isinstance(admin_error(ROOM, "x", StanzaError("item-not-found")), NotFound)
    assert isinstance(admin_error(ROOM, "x", StanzaError("conflict")), Conflict)
    assert str(admin_error(ROOM, "x", StanzaError("gone"))).startswith("gone: room@chat.localhost refused x")
    with pytest.raises(InvalidArgument):
        check_reason("r" * 1025)
    with pytest.raises(InvalidArgument):
        check_reason("bad\x01")


def test_room_messages_as_history_keeps_them() -> None:
    xml = ("<message xmlns='jabber:client' type='groupchat' from='room@chat.localhost/alice' id='uid-1' "
           "to='alice@localhost/desk'><body>hi</body>"
           "<stanza-id xmlns='urn:xmpp:sid:0' by='room@chat.localhost' id='room-1'/></message>")
    parsed = parse_message_element(element(xml), ME, archive="room@chat.localhost")
    assert parsed is not None
    trusted = Room(ROOM, "alice", stanza_ids=True)
    kept = as_room_message(trusted, parsed, "alice@localhost")
    assert (kept.stanza_id, kept.origin_id) == ("room-1", "uid-1")      # our reflection, without origin-id
    untrusted = as_room_message(Room(ROOM, "bob"), parsed, "bob@localhost")
    assert (untrusted.stanza_id, untrusted.origin_id) == (None, None)   # a room without XEP-0359; not ours
    assert since_text(0.0) == "1970-01-01T00:00:00Z"


def test_bookmarks_are_parsed_and_built() -> None:
    def item(xml: str, item_id: str = "room@chat.localhost") -> domish.Element:
        return element(f"<item xmlns='http://jabber.org/protocol/pubsub#event' id='{item_id}'>{xml}</item>")
    parsed = parse_bookmark(item("<conference xmlns='urn:xmpp:bookmarks:1' autojoin='1' name='Tea'>"
                                 "<nick>al</nick></conference>"))
    assert parsed == Bookmark(ROOM, True, "al", "Tea")
    assert parse_bookmark(item("<conference xmlns='urn:xmpp:bookmarks:1'/>")) == Bookmark(ROOM, False)
    for bad in (item("<conference xmlns='urn:xmpp:bookmarks:1'/>", "not a room"), item("<other xmlns='x'/>"),
                item(f"<conference xmlns='urn:xmpp:bookmarks:1'><nick>{'n' * 1100}</nick></conference>")):
        assert parse_bookmark(bad) is None
    built = bookmark_item(Bookmark(ROOM, False, "al"))
    conference = next(built.elements("urn:xmpp:bookmarks:1", "conference"))
    assert (built["id"], conference["autojoin"], str(next(conference.elements()))) == (
        "room@chat.localhost", "false", "al")


def test_occupant_ids_of_messages() -> None:
    xml = ("<message xmlns='jabber:client' type='groupchat' from='room@chat.localhost/carol'><body>x</body>"
           "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='abc'/></message>")
    assert occupant_id_of(element(xml)) == "abc"
    assert occupant_id_of(element(xml.replace("id='abc'", f"id='{'a' * 300}'"))) is None
    assert occupant_id_of(element("<message xmlns='jabber:client'/>")) is None


def test_archived_room_messages_keep_their_occupant_id() -> None:
    """XEP-0421 in a message read from the room's archive: kept where the room gives them,
    so that later corrections and retractions can be checked against it."""
    forwarded = element(
        "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>"
        "<message xmlns='jabber:client' type='groupchat' from='room@chat.localhost/carol'><body>x</body>"
        "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='carol-id'/></message></forwarded>")
    parsed = parse_forwarded(forwarded, ME, stanza_id="room-9")
    assert parsed is not None and parsed.occupant_id == "carol-id"
    assert as_room_message(Room(ROOM, "alice", occupant_ids=True), parsed, "alice@localhost").extra \
        == {"occupant_id": "carol-id"}
    assert as_room_message(Room(ROOM, "alice"), parsed, "alice@localhost").extra == {}   # not a XEP-0421 room
    chat = element("<message xmlns='jabber:client' type='chat' from='carol@localhost/x'><body>x</body>"
                   "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/></message>")
    assert parse_message_element(chat, ME).occupant_id is None                          # only in groupchat


def test_who_reacted_in_a_room() -> None:
    """XEP-0444 in rooms: one reaction set per reactor, told by occupant-id first."""
    room = Room(ROOM, "alice", occupant_ids=True,
                occupants={"alice": Occupant("alice", occupant_id="mine"),
                           "carol": Occupant("carol", real_jid="carol@localhost/phone", occupant_id="c")})
    own = "alice@localhost"
    assert reactor_of(room, "carol", "c", own) == "occupant-id:c"
    assert reactor_of(room, "carol", None, own) is None                  # not attributable in a XEP-0421 room
    assert reactor_of(room, "alice", "mine", own) == own                 # ours, reflected
    assert reactor_of(room, "old-nick", "mine", own) == own              # ours, by an earlier nick (archive)
    assert reactor_of(room, "", None, own) is None                       # the room itself
    plain = Room(ROOM, "alice", occupants={"carol": Occupant("carol", real_jid="carol@localhost/phone")})
    assert reactor_of(plain, "carol", "ignored", own) == "carol@localhost"     # real JID shown
    assert reactor_of(plain, "dave", None, own) == "room@chat.localhost/dave"  # anonymous: the nick
    reaction = element("<message xmlns='jabber:client' type='groupchat' from='room@chat.localhost/carol'>"
                       "<reactions xmlns='urn:xmpp:reactions:0' id='room-1'><reaction>👍</reaction></reactions>"
                       "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='c'/></message>")
    parsed = parse_message_element(reaction, ME, [parse_reactions], archive="room@chat.localhost")
    assert parsed is not None
    assert as_room_message(room, parsed, own).extra == {"occupant_id": "c", "reactor": "occupant-id:c"}
