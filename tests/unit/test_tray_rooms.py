"""Room messages in the tray's pure parts: which are notified (mentions, or every one
when asked), the summary, the recent conversations and unread total (no bus)."""

from __future__ import annotations

from sat_frontends.tray.notifications import content
from sat_frontends.tray.rooms import ROOMS_KEPT, RoomMessage, RoomWatch, is_mention, room_summary
from sat_frontends.tray.state import TrayState

ROOM = ("alice", "room@chat.localhost")


def test_is_mention_reads_the_backend_flag_only() -> None:
    assert is_mention('{"mention": true}')
    assert not is_mention('{"mention": "yes"}')
    assert not is_mention("{}")
    assert not is_mention("[true]")
    assert not is_mention("not json")


def test_only_mentions_are_notified_by_default() -> None:
    watch = RoomWatch()
    watch.message(ROOM, "carol", "tea, anyone?", mention=False)
    assert watch.is_room(ROOM)
    assert watch.to_notify(ROOM) is None               # counted, not notified
    watch.message(ROOM, "carol", "alice: tea?", mention=True)
    watch.message(ROOM, "bob", "milk?", mention=False)  # does not hide the mention waiting
    assert watch.to_notify(ROOM) == RoomMessage("carol", "alice: tea?", True)
    assert watch.to_notify(ROOM) is None               # notified once
    watch.message(ROOM, "carol", "alice?", mention=True)
    watch.read(ROOM)                                   # read before its count came
    assert watch.to_notify(ROOM) is None


def test_every_room_message_when_asked() -> None:
    watch = RoomWatch(notify_all=True)
    watch.message(ROOM, "carol", "one", mention=False)
    watch.message(ROOM, "bob", "two", mention=False)
    assert watch.to_notify(ROOM) == RoomMessage("bob", "two", False)
    watch.message(ROOM, "carol", "alice!", mention=True)
    watch.message(ROOM, "bob", "three", mention=False)
    assert watch.to_notify(ROOM) == RoomMessage("carol", "alice!", True)   # a mention goes first


def test_rooms_remembered_are_bounded() -> None:
    watch = RoomWatch()
    for number in range(ROOMS_KEPT + 5):
        watch.message(("alice", f"r{number}@chat.localhost"), "carol", "hi", mention=True)
    assert len(watch.rooms) <= ROOMS_KEPT and len(watch._pending) <= ROOMS_KEPT


def test_room_summary_and_privacy() -> None:
    mention = RoomMessage("carol", "alice: <tea>?", True)
    assert room_summary(mention, "room@chat.localhost") == "carol mentioned you in room@chat.localhost"
    assert room_summary(RoomMessage("bob", "x", False), "room@chat.localhost") == "bob in room@chat.localhost"
    shown = content("room@chat.localhost", 3, mention.text, False, room_summary(mention, "room@chat.localhost"))
    assert shown.summary == "carol mentioned you in room@chat.localhost"
    assert shown.body == "alice: &lt;tea&gt;?\n(3 unread)"
    hidden = content("room@chat.localhost", 1, mention.text, True, room_summary(mention, "room@chat.localhost"))
    assert hidden.body == "1 new message" and "carol" in hidden.summary   # who, never what
    assert len(content("r", 1, "", False, "x" * 500).summary) == 100


def test_rooms_are_recent_conversations_with_their_unread_count() -> None:
    state = TrayState(backend_running=True, profiles={"alice": True}, own_jids={"alice": "alice@localhost"})
    state.message("alice", "carol@localhost/phone", "alice@localhost/desk", {"": "hi"})
    state.received(ROOM, {"": "tea?"})
    state.set_unread(("alice", "carol@localhost"), 1)
    state.set_unread(ROOM, 4)
    assert [(c.jid, c.unread) for c in state.conversations()] == [("room@chat.localhost", 4), ("carol@localhost", 1)]
    assert state.total_unread() == 5
    assert "5 unread messages" in state.look().tooltip
    state.sent(ROOM, {"": "yes"}, "uid-1")
    assert state.own_texts.get("uid-1") == "yes"
    assert state.last_text[ROOM] == "tea?"

