"""``sat-tray`` with a real notification server (dunst on Xvfb, on the private bus): a
message from a slixmpp peer gives exactly one notification for its conversation, with
the right summary; choosing "Mark read" in dunst's action menu clears the unread count
in the backend, and the notification goes. A screenshot is kept in the test's tmp dir.
Inline reply, which dunst lacks, against a server written from the specification; and
reactions to our messages (XEP-0444, ``ReactionsReceived``) against the same server:
only someone else's reactions to a message we sent, one notification per conversation
(replaced as reactions come), the reacted message quoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import SignalRecorder
from tests.fixtures.notification_daemon import NotificationDaemon, xwd_colours
from tests.fixtures.notification_server import NotificationServer
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.tray import TrayProcess, tray  # noqa: F401 - the fixture
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.archive_helpers import wait_until
from tests.integration.test_read_state import alice  # noqa: F401 - alice's profile, connected

CAROL = "carol@localhost"


@pytest.fixture
def prosody(fresh_prosody: ProsodyServer) -> ProsodyServer:
    """A server of this test's own: no archived message from earlier tests."""
    return fresh_prosody


def unread(count: int):  # type: ignore[no-untyped-def]
    return lambda jid, value, profile: (jid, value, profile) == (CAROL, count, "alice")


def test_message_notification_then_mark_read(alice: BridgeClient, prosody: ProsodyServer,
                                             tray: TrayProcess, backend_env: dict[str, str],
                                             tmp_path: Path) -> None:
    client = alice
    signals = SignalRecorder(client, "UnreadChanged")
    with NotificationDaemon(tmp_path / "dunst", backend_env) as daemon, \
            connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        tray.start()
        wait_until(lambda: "backend state loaded" in tray.log_text(), 10, "the tray to load the backend's state")
        assert "notification server found" in tray.log_text()

        carol.send_message("alice@localhost", "hello from carol")
        signals.wait_for("UnreadChanged", unread(1))
        wait_until(lambda: daemon.count() == 1, 10, "one notification")
        carol.send_message("alice@localhost", "are you <there>?")
        signals.wait_for("UnreadChanged", unread(2))
        # the conversation's notification is replaced (rate-limited), never a second one
        wait_until(lambda: f"for {CAROL}: 2 unread" in tray.log_text(), 15, "the notification to be updated")
        assert daemon.count() == 1
        assert daemon.count("history") == 0
        shot = daemon.screenshot(tmp_path / "notification.xwd")
        assert shot.stat().st_size > 800 * 600 * 3
        assert xwd_colours(shot) > 2   # dunst drew its window on the black root: not blank

        daemon.choose_action("Mark read")
        signals.wait_for("UnreadChanged", unread(0))
        assert client.unread_get("", "alice") == {}
        wait_until(lambda: daemon.count() == 0, 10, "the notification to close")
        (shown,) = daemon.history()
        assert shown["summary"] == f"Message from {CAROL}"
        assert shown["appname"] == "SàT"
        # markup escaped: the text is shown as written
        assert "are you &lt;there&gt;?" in shown["body"] and "(2 unread)" in shown["body"]


def test_inline_reply_and_privacy(alice: BridgeClient, prosody: ProsodyServer,
                                  backend_env: dict[str, str], tmp_path: Path) -> None:
    """A server offering ``inline-reply`` (KDE's extension): the tray adds the Reply
    action, the typed reply reaches carol, the conversation is read and its notification
    closed; ``--privacy`` keeps the text out of the notification."""
    client = alice
    signals = SignalRecorder(client, "UnreadChanged")
    tray = TrayProcess(backend_env, tmp_path / "tray.log", "--privacy")
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server, \
            connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        tray.start()
        try:
            wait_until(lambda: "backend state loaded" in tray.log_text(), 10, "the tray to start")
            carol.send_message("alice@localhost", "my secret plans")
            signals.wait_for("UnreadChanged", unread(1))
            notification_id, shown = server.wait_notify()
            assert shown["summary"] == f"Message from {CAROL}"
            assert shown["body"] == "1 new message"
            assert "inline-reply" in shown["actions"][::2]
            # the tray has the id from Notify's reply (a user is slower than this)
            tray.wait_notification(notification_id, CAROL)
            server.reply(notification_id, "got it")
            answer = carol.wait_message(lambda message: message["body"] == "got it")
            assert str(answer["from"]).startswith("alice@localhost/")
            signals.wait_for("UnreadChanged", unread(0))   # our reply marks it read
            assert server.wait_close() == notification_id
        finally:
            assert tray.stop() == 0


def test_reaction_to_our_message_is_notified(alice: BridgeClient, prosody: ProsodyServer,
                                             tray: TrayProcess, backend_env: dict[str, str],
                                             tmp_path: Path) -> None:
    client = alice
    signals = SignalRecorder(client, "UnreadChanged", "MessageUpdate", "ReactionsReceived")
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server, \
            connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        tray.start()
        wait_until(lambda: "backend state loaded" in tray.log_text(), 10, "the tray to load the backend's state")
        carol_id = carol.send_message("alice@localhost", "what time?")
        signals.wait_for("UnreadChanged", lambda jid, count, profile: (jid, count) == (CAROL, 1))
        message_id, shown = server.wait_notify(1)
        assert shown["summary"] == f"Message from {CAROL}"
        (carol_uid, *_), = client.history_get(CAROL, "alice@localhost", 1, False, "{}", "alice")

        uid = client.message_send(CAROL, {"": "see you at <8>"}, {}, "chat", "{}", "alice")
        ours = carol.wait_message(lambda message: message["body"] == "see you at <8>")
        assert server.wait_close(1) == message_id    # our reply read the conversation
        # not notified: our own reaction, and carol's reaction to her own message
        client.message_reactions_set(carol_uid, ["👍"], "add", "alice")
        carol.send_reactions("alice@localhost", carol_id, ["👀"])
        signals.wait_for("MessageUpdate", lambda u, kind, data, profile: u == carol_uid and "👀" in json.loads(data)["reactions"])

        carol.send_reactions("alice@localhost", ours["id"], ["🎉"])
        assert signals.wait_for("ReactionsReceived") == (uid, CAROL, CAROL, ["🎉"], "alice")
        reaction_id, shown = server.wait_notify(2)
        assert shown["summary"] == f"{CAROL} reacted to your message"
        assert shown["body"] == "🎉 to “see you at &lt;8&gt;”"    # quoted, markup escaped
        assert shown["actions"][::2] == ["default", "open"]

        carol.send_reactions("alice@localhost", ours["id"], ["🎉", "❤️"])   # her whole set: ❤️ is new
        assert signals.wait_for("ReactionsReceived")[3] == ["❤️"]
        replaced_id, shown = server.wait_notify(3)
        assert replaced_id == reaction_id       # the conversation's notification, replaced
        assert shown["summary"] == f"{CAROL} reacted to your messages"
        assert shown["body"].splitlines() == ["🎉 to “see you at &lt;8&gt;”", "❤️ to “see you at &lt;8&gt;”"]
        carol.send_reactions("alice@localhost", ours["id"], ["❤️"])       # a removal: nothing to tell
        signals.wait_for("MessageUpdate", lambda u, kind, data, profile: u == uid and "🎉" not in json.loads(data)["reactions"])
        assert [name for name, _ in signals.history].count("ReactionsReceived") == 2

        server.invoke(reaction_id, "default")    # opened: the notification goes
        assert server.wait_close(2) == reaction_id
        assert [event for event, _ in server.service.log].count("notify") == 3
