"""When a room message mentions us (``extra.mention``): our nick as a word, XEP-0372
mention references, never our own messages (no bus, no server)."""

from __future__ import annotations

from typing import Any

from twisted.words.protocols.jabber.jid import JID
from tx_xmpp.generic import parseXml

from sat_backend.core.im.message_stanza import MAX_MENTIONS, parse_message_element
from sat_backend.plugins.muc.mentions import mentions_us, names_nick, reference_target
from sat_backend.plugins.muc.room_history import as_room_message
from sat_backend.plugins.muc.rooms import Room

ROOM = JID("room@chat.localhost")
ME = JID("alice@localhost/desk")


def test_nick_is_found_as_a_whole_word_ignoring_case() -> None:
    assert names_nick("alice: tea?", "alice")
    assert names_nick("Tea, ALICE?", "alice")
    assert names_nick("@alice", "alice")
    assert names_nick("thanks alice.", "alice")
    assert names_nick("Élodie, tea?", "élodie")
    assert not names_nick("malice aforethought", "alice")
    assert not names_nick("alices and bobs", "alice")
    assert not names_nick("alice_2 is here", "alice")   # another nick, suffixed
    assert not names_nick("nothing here", "alice")
    assert not names_nick("", "alice")
    assert not names_nick("anything", "")
    assert not names_nick("anything", "   ")


def test_nick_with_spaces_or_punctuation() -> None:
    assert names_nick("hello Ann Smith!", "ann smith")
    assert not names_nick("hello Ann Smithers", "ann smith")
    assert not names_nick("hello ann  smith", "ann smith")   # what is written is what is looked for
    assert names_nick("ask J.R. about it", "J.R.")
    assert not names_nick("ask JxRx about it", "J.R.")       # dots are not wildcards
    assert names_nick("(a+b) was right", "a+b")
    assert names_nick("ping [bot]", "[bot]")
    assert not names_nick("ping [bot]s", "[bot]s!")


def test_references_name_our_occupant_or_bare_jid() -> None:
    assert reference_target("xmpp:Room@Chat.localhost/Alice") == "room@chat.localhost/Alice"
    assert reference_target("xmpp:room@chat.localhost/ann%20smith") == "room@chat.localhost/ann smith"
    assert reference_target("xmpp:alice@localhost?message") == "alice@localhost"
    assert reference_target("https://example.org/alice") == ""


def mention(texts: list[str], sender: str = "bob", references: tuple[str, ...] = ()) -> bool:
    return mentions_us(texts=texts, sender_nick=sender, own_nick="alice", references=references,
                       own_occupant="room@chat.localhost/alice", own_bare="alice@localhost")


def test_mentions_us() -> None:
    assert mention(["hi alice"])
    assert mention(["hi"], references=("xmpp:room@chat.localhost/alice",))
    assert mention(["hi"], references=("xmpp:alice@localhost",))
    assert not mention(["hi"], references=("xmpp:room@chat.localhost/bob", "xmpp:carol@localhost"))
    assert not mention(["hi"], references=("xmpp:room@chat.localhost/Alice",))   # nicks are case-sensitive
    assert mention(["salut", "hello alice"])   # any language
    assert not mention(["hi bob"])


def test_our_own_messages_never_mention_us() -> None:
    assert not mention(["note to self: alice"], sender="alice")
    assert not mention(["hi"], sender="alice", references=("xmpp:alice@localhost",))
    assert not mention(["alice joined"], sender="")   # the room itself


def room_message(body: str, sender: str = "bob", children: str = "") -> Any:
    xml = (f"<message xmlns='jabber:client' type='groupchat' from='room@chat.localhost/{sender}' id='m1' "
           f"to='alice@localhost/desk'><body>{body}</body>{children}</message>")
    parsed = parse_message_element(parseXml(xml.encode()), ME, archive="room@chat.localhost")
    assert parsed is not None
    return as_room_message(Room(ROOM, "alice"), parsed, ME.userhost())


def test_room_messages_carry_the_flag_only_when_they_mention_us() -> None:
    assert room_message("alice, tea?").extra == {"mention": True}
    assert "mention" not in room_message("tea, anyone?").extra
    assert "mention" not in room_message("alice here", sender="alice").extra
    reference = "<reference xmlns='urn:xmpp:reference:0' type='{kind}' uri='xmpp:room@chat.localhost/alice'/>"
    assert room_message("look", children=reference.format(kind="mention")).extra == {"mention": True}
    assert "mention" not in room_message("look", children=reference.format(kind="data")).extra


def test_mention_references_are_bounded() -> None:
    many = "".join(f"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:x{i}@localhost'/>"
                   for i in range(MAX_MENTIONS + 10))
    long = "<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:" + "a" * 5000 + "@localhost'/>"
    message = room_message("hi", children=long + many)
    assert len(message.mentioned) == MAX_MENTIONS
    assert all(len(uri) < 100 for uri in message.mentioned)
    chat = parse_message_element(parseXml(
        b"<message xmlns='jabber:client' type='chat' from='bob@localhost'><body>x</body>"
        b"<reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:alice@localhost'/></message>"), ME)
    assert chat is not None and chat.mentioned == ()   # only room messages use them
