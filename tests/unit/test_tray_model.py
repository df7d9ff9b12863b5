"""The tray's pure parts: menu model, state → look, notification content, grouping and
rate limit (time and scheduling injected: no clock, no bus)."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from dbus_fast import Variant

from sat_frontends.tray.calls import PROPOSALS_KEPT, CallNotifier, IncomingCall, answer_argv, call_content
from sat_frontends.tray.menu import IdRegistry, MenuModel, find, label
from sat_frontends.tray.notifications import Content, Notifier, RateLimiter, content
from sat_frontends.tray.reactions import OwnTexts, Reaction, ReactionNotifier, reactions_content
from sat_frontends.tray.state import TrayState


KEY = ("alice", "carol@localhost")


def model(state: TrayState, clicks: list[Any]) -> MenuModel:
    return MenuModel(
        presence=state.presence, profiles=state.profiles, recent=state.conversations(),
        set_presence=lambda show: clicks.append(("presence", show)),
        toggle_profile=lambda profile, connected: clicks.append(("profile", profile, connected)),
        open_conversation=lambda conversation: clicks.append(("open", conversation.jid)),
        quit=lambda: clicks.append("quit"),
    )


def test_menu_entries_ids_and_actions() -> None:
    state = TrayState(backend_running=True, profiles={"work": False, "alice": True}, presence="away")
    state.set_unread(("alice", "carol@localhost"), 2)
    clicks: list[Any] = []
    root = model(state, clicks).build()
    texts = [item.properties.get("label", "-") for item in root.children]
    assert texts == ["Available", "Away", "Do not disturb", "Offline", "-", "Disconnect alice", "Connect work",
                     "-", "carol@localhost (2)", "-", "Quit"]
    assert [item.properties["toggle-state"] for item in root.children[:4]] == [0, 1, 0, 0]
    registry = IdRegistry()
    ids = {item.key: registry.id_of(item.key) for item in root.children}
    rebuilt = model(state, clicks).build()
    assert {item.key: registry.id_of(item.key) for item in rebuilt.children} == ids   # stable
    for key in ("presence:dnd", "profile:work", "conversation:alice:carol@localhost", "quit"):
        item = find(rebuilt, registry, ids[key])
        assert item is not None and item.action is not None
        item.action()
    assert clicks == [("presence", "dnd"), ("profile", "work", False), ("open", "carol@localhost"), "quit"]
    assert find(rebuilt, registry, 9999) is None


def test_label_is_bounded_and_has_no_mnemonic() -> None:
    assert label("a_b") == "a__b"
    assert len(label("x" * 5000)) == 60


def test_look_follows_presence_and_unread() -> None:
    state = TrayState()
    assert state.look().tooltip == "SàT backend not running" and state.look().status == "Passive"
    state = TrayState(backend_running=True, profiles={"alice": True}, presence="available",
                      own_jids={"alice": "alice@localhost"})
    assert (state.look().status, state.look().icon_name) == ("Active", "sat-tray-available")
    assert state.message("alice", "carol@localhost/phone", "alice@localhost", {"": "hi"}) == ("alice", "carol@localhost")
    assert state.message("alice", "alice@localhost/pc", "dave@localhost", {"": "yo"}) is None
    assert [c.jid for c in state.conversations()] == ["dave@localhost", "carol@localhost"]
    state.set_unread(("alice", "carol@localhost"), 3)
    look = state.look()
    assert look.status == "NeedsAttention" and "3 unread messages" in look.tooltip
    state.set_unread(("alice", "carol@localhost"), 0)
    assert state.look().status == "Active"


def test_content_privacy_escape_and_bounds() -> None:
    assert content("carol@localhost", 1, "a <b> & c", privacy=False) == Content(
        "Message from carol@localhost", "a &lt;b&gt; &amp; c")
    assert content("carol@localhost", 3, "secret", privacy=True).body == "3 new messages"
    assert "secret" not in content("carol@localhost", 1, "secret", privacy=True).body
    assert content("c", 2, "x" * 1000, privacy=False).body.endswith("…\n(2 unread)")
    assert len(content("c" * 3000, 1, "", privacy=False).summary) == 100


def test_rate_limiter() -> None:
    limiter = RateLimiter(interval=3.0)
    key = ("alice", "carol@localhost")
    assert limiter.wait(key, 100.0) == 0.0
    limiter.record(key, 100.0)
    assert limiter.wait(key, 101.0) == 2.0
    assert limiter.wait(("alice", "dave@localhost"), 101.0) == 0.0
    assert limiter.wait(key, 103.0) == 0.0


class FakeClient:
    """Records what the notifier asks of the server."""

    def __init__(self, capabilities: set[str]) -> None:
        self.capabilities = capabilities
        self.available = True
        self.calls: list[tuple[Any, ...]] = []

    async def notify(self, replaces_id: int, text: Content, actions: list[str], hints: dict[str, Variant]) -> int:
        self.calls.append(("notify", replaces_id, text.body, tuple(actions)))
        return replaces_id or 7

    async def close(self, notification_id: int) -> None:
        self.calls.append(("close", notification_id))


def test_notifier_groups_rate_limits_and_closes() -> None:
    client = FakeClient({"actions", "inline-reply"})
    now = [0.0]
    scheduled: list[tuple[float, Callable[[], Any]]] = []
    loop = asyncio.new_event_loop()
    notifier = Notifier(client, privacy=False, clock=lambda: now[0],  # type: ignore[arg-type]
                        later=lambda delay, callback: scheduled.append((delay, callback)),
                        run=lambda awaitable: loop.run_until_complete(awaitable))
    key = ("alice", "carol@localhost")
    notifier.unread(key, "carol@localhost", 1, "one")
    assert client.calls == [("notify", 0, "one", ("default", "Open", "open", "Open", "mark-read", "Mark read",
                                                  "inline-reply", "Reply"))]
    now[0] = 1.0
    notifier.unread(key, "carol@localhost", 2, "two")
    notifier.unread(key, "carol@localhost", 3, "three")   # gathered with the previous one
    assert len(client.calls) == 1 and [delay for delay, _ in scheduled] == [2.0]
    now[0] = 3.0
    scheduled.pop()[1]()
    assert client.calls[-1] == ("notify", 7, "three\n(3 unread)", client.calls[0][3])
    notifier.unread(key, "carol@localhost", 2, "three")   # fewer unread: nothing new
    assert len(client.calls) == 2
    assert notifier.key_of(7) == key
    loop.run_until_complete(notifier.read(key))
    assert client.calls[-1] == ("close", 7)
    assert notifier.key_of(7) is None
    loop.close()


def test_notifier_without_server_does_nothing() -> None:
    client = FakeClient(set())
    client.available = False
    notifier = Notifier(client, privacy=True, clock=lambda: 0.0, later=lambda *a: None,  # type: ignore[arg-type]
                        run=lambda awaitable: None)
    notifier.unread(("alice", "carol@localhost"), "carol@localhost", 1, "hi")
    assert client.calls == []


def test_reaction_content_privacy_escape_and_bounds() -> None:
    one = Reaction("carol@localhost", ("👍",), "see <you>")
    assert reactions_content((one,), 1, privacy=False) == Content(
        "carol@localhost reacted to your message", "👍 to “see &lt;you&gt;”")
    assert reactions_content((Reaction("c", ("🎉",), ""),), 1, privacy=False).body == "🎉 to your message"
    hidden = reactions_content((one, one), 2, privacy=True)
    assert hidden.body == "2 new reactions" and "👍" not in hidden.body and "see" not in hidden.body
    many = reactions_content((one,) * 5, 9, privacy=False).body.splitlines()
    assert many[0] == "(and 4 more)" and len(many) == 6
    texts = OwnTexts(kept=2)
    for uid in ("a", "b", "c"):
        texts.add(uid, "x  y\n" * 100)
    assert texts.get("a") == "" and len(texts.get("c")) == 60 and texts.get("c").startswith("x y x y")


def test_reaction_notifier_groups_per_conversation() -> None:
    client = FakeClient({"actions"})
    loop = asyncio.new_event_loop()
    notifier = ReactionNotifier(client, privacy=False, clock=lambda: 0.0,  # type: ignore[arg-type]
                                later=lambda delay, callback: None,
                                run=lambda awaitable: loop.run_until_complete(awaitable), interval=0.0)
    key = ("alice", "carol@localhost")
    notifier.reacted(key, Reaction("carol@localhost", (), "hi"))        # nothing added: nothing shown
    assert client.calls == []
    for emoji in "👍🎉👀❤🔥😀":
        notifier.reacted(key, Reaction("carol@localhost", (emoji,), "hi"))
    assert [call[1] for call in client.calls] == [0, 7, 7, 7, 7, 7]   # one notification, replaced
    assert client.calls[-1][2].splitlines()[0] == "(and 1 more)" and client.calls[-1][3] == ("default", "Open",
                                                                                             "open", "Open")
    notifier.closed(7)     # dismissed: the next reaction starts afresh
    notifier.reacted(key, Reaction("carol@localhost", ("👍",), "hi"))
    assert client.calls[-1][1:3] == (0, "👍 to “hi”")
    loop.run_until_complete(notifier.read(key))
    assert client.calls[-1] == ("close", 7) and notifier.received == {}
    loop.close()


def test_call_content_and_answer_command() -> None:
    call = IncomingCall("alice@localhost/phone", ("audio",))
    assert call_content(call) == Content("Incoming call from alice@localhost", "Audio call")
    assert call_content(IncomingCall("a@b/c", ("audio", "video"))).body == "Video call"
    assert len(call_content(IncomingCall("a" * 5000, ())).summary) == 100
    argv = answer_argv("sat call answer --sid {sid} -p '{profile}' --note 'from {jid}'", "s1; rm -rf /", "a@b/c", "bob")
    assert argv == ["sat", "call", "answer", "--sid", "s1; rm -rf /", "-p", "bob", "--note", "from a@b/c"]


def test_call_notifier_rings_and_knows_proposals_taken_here() -> None:
    client = FakeClient({"actions"})
    loop = asyncio.new_event_loop()
    notifier = CallNotifier(client, privacy=True, clock=lambda: 0.0,  # type: ignore[arg-type]
                            later=lambda delay, callback: None,
                            run=lambda awaitable: loop.run_until_complete(awaitable))
    call = IncomingCall("alice@localhost/pc", ("audio",))
    notifier.proposed(("bob", "s1"), call)
    assert client.calls == [("notify", 0, "Audio call", ("answer", "Answer", "decline", "Decline"))]
    assert notifier.ringing == {("bob", "s1"): call}
    loop.run_until_complete(notifier.read(("bob", "s1")))       # answered from the notification
    assert notifier.incoming(("bob", "s1"), call) is False       # its offer: taken here, no ring
    assert notifier.incoming(("bob", "s2"), call) is True        # a direct offer rings at once
    assert len(client.calls) == 3 and notifier.hints()["urgency"].value == 2
    loop.run_until_complete(notifier.ended(("bob", "s2")))
    assert client.calls[-1] == ("close", 7) and notifier.ringing == {}
    for number in range(PROPOSALS_KEPT + 3):     # calls whose end never came: bounded
        notifier.incoming(("bob", f"lost{number}"), call)
    assert len(notifier.ringing) == PROPOSALS_KEPT and ("bob", "lost0") not in notifier.ringing
    loop.close()


def test_read_while_the_server_answers_closes_the_notification() -> None:
    """Read (here or elsewhere) while ``Notify`` is under way: the notification must not
    stay on screen once the server gives its id."""
    loop = asyncio.new_event_loop()
    answer: asyncio.Future[int] = loop.create_future()
    calls: list[tuple[str, int]] = []

    class SlowServer:
        capabilities: set[str] = set()
        available = True

        async def notify(self, replaces_id: int, text: Any, actions: Any, hints: Any) -> int:
            calls.append(("notify", replaces_id))
            return await answer

        async def close(self, notification_id: int) -> None:
            calls.append(("close", notification_id))

    tasks: list[asyncio.Task[Any]] = []
    notifier = Notifier(SlowServer(), privacy=False, clock=lambda: 0.0,  # type: ignore[arg-type]
                        later=lambda *args: None, run=lambda awaitable: tasks.append(loop.create_task(awaitable)))
    notifier.unread(KEY, "carol@localhost", 1, "hi")
    loop.run_until_complete(asyncio.sleep(0))         # Notify sent, no answer yet
    loop.run_until_complete(notifier.read(KEY))
    answer.set_result(9)
    loop.run_until_complete(asyncio.gather(*tasks))
    assert calls == [("notify", 0), ("close", 9)]
    assert notifier.key_of(9) is None
    notifier.unread(KEY, "carol@localhost", 1, "again")   # nothing left over: shown again
    answer = loop.create_future()
    answer.set_result(10)
    loop.run_until_complete(asyncio.gather(*tasks[1:]))
    assert calls[-1] == ("notify", 0) and notifier.key_of(10) == KEY
    loop.close()
