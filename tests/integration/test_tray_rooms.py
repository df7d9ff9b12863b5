"""``sat-tray`` and group chats (XEP-0045) on a real Prosody: a room message that
mentions us (the backend's ``extra.mention``) gives one notification per room, with who
and where in its summary; other room messages only count as unread (tray tooltip, menu,
backend), unless ``--room-messages all``. Inline reply answers in the room, "Mark read"
reads the room in the backend. Against dunst on Xvfb and against the notification
server written from the specification (it records every ``Notify``, so "no
notification" is checked, not assumed)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.notification_daemon import NotificationDaemon
from tests.fixtures.notification_server import NotificationServer
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.sni_host import SniHost
from tests.fixtures.tray import TrayProcess, tray  # noqa: F401 - the fixture
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.archive_helpers import wait_until
from tests.integration.muc_helpers import MUC_SIGNALS, joined, new_room, peer_joins, peer_says, room_message
from tests.integration.test_tray_menu import labels
from tests.integration.xmpp_helpers import connected_profiles

Scene = tuple[BridgeClient, SignalRecorder, XmppPeer, str]


@pytest.fixture
def scene(backend: BackendProcess, fresh_prosody: ProsodyServer) -> Iterator[Scene]:
    """alice and bob (profiles of the backend) and carol (slixmpp) in a new room."""
    client = backend.client
    assert client is not None
    with connected_profiles(client, fresh_prosody), \
            connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        signals = SignalRecorder(client, *MUC_SIGNALS, "UnreadChanged")
        room = new_room()
        for profile in ("alice", "bob"):
            client.muc_join(room, profile, "", "{}", profile)
            joined(signals, room, profile)
        peer_joins(carol, room, "carol")
        yield client, signals, carol, room


def unread(room: str, count: int) -> Callable[..., bool]:
    return lambda jid, value, profile: (jid, value, profile) == (room, count, "alice")


def loaded(tray: TrayProcess) -> None:
    wait_until(lambda: "backend state loaded" in tray.log_text(), 10, "the tray to load the backend's state")


def test_a_mention_is_notified_once_other_room_messages_only_count(
        scene: Scene, backend_env: dict[str, str], tmp_path: Path) -> None:
    client, signals, carol, room = scene
    tray = TrayProcess(backend_env, tmp_path / "tray.log")
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server, \
            SniHost(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as host:
        tray.start()
        try:
            loaded(tray)
            item = host.wait_registered()
            peer_says(carol, room, "tea, anyone?")
            signals.wait_for("UnreadChanged", unread(room, 1))
            # counted for alice and for bob (every profile is in the tray), in the menu too
            host.wait_property(item, "ToolTip", lambda tip: "2 unread messages" in tip[3])
            assert labels(host, item).count(f"{room} (1)") == 2
            assert host.properties(item)["Status"] == "NeedsAttention"

            client.message_send(room, {"": "alice: tea?"}, {}, "groupchat", "{}", "bob")   # bob mentions alice
            signals.wait_for("UnreadChanged", unread(room, 2))
            notification_id, shown = server.wait_notify()
            assert shown["summary"] == f"bob mentioned you in {room}"
            assert shown["body"] == "alice: tea?\n(2 unread)"
            assert "inline-reply" in shown["actions"][::2]
            tray.wait_notification(notification_id, room)

            server.reply(notification_id, "coming")          # answered in the room
            assert carol.wait_message(lambda message: message["body"] == "coming")["from"] == f"{room}/alice"
            signals.wait_for("UnreadChanged", unread(room, 0))   # our reply reads the room
            assert server.wait_close() == notification_id

            peer_says(carol, room, "Alice, milk?")
            signals.wait_for("UnreadChanged", unread(room, 1))
            second_id, shown = server.wait_notify(2)
            assert shown["summary"] == f"carol mentioned you in {room}"
            tray.wait_notification(second_id, room)
            server.invoke(second_id, "mark-read")
            signals.wait_for("UnreadChanged", unread(room, 0))
            assert client.unread_get("", "alice") == {}
            assert server.wait_close(2) == second_id
            # alice's entry has no count left; bob has alice's reply and "milk?" to read
            wait_until(lambda: sorted(label for label in labels(host, item) if label.startswith(room))
                       == [room, f"{room} (2)"], 10, "the menu to show the room read")
            # exactly two notifications: the first room message was counted, never shown
            assert [event for event, _ in server.service.log].count("notify") == 2
        finally:
            assert tray.stop() == 0


def test_mention_with_dunst_and_mark_read(scene: Scene, tray: TrayProcess, backend_env: dict[str, str],
                                          tmp_path: Path) -> None:
    client, signals, carol, room = scene
    with NotificationDaemon(tmp_path / "dunst", backend_env) as daemon:
        tray.start()
        loaded(tray)
        peer_says(carol, room, "tea, anyone?")
        signals.wait_for("UnreadChanged", unread(room, 1))
        peer_says(carol, room, "what does alice think?")
        signals.wait_for("UnreadChanged", unread(room, 2))
        wait_until(lambda: daemon.count() == 1, 10, "one notification")
        wait_until(lambda: f"for {room}: 2 unread" in tray.log_text(), 10, "the tray to know its notification")
        assert daemon.count() == 1 and daemon.count("history") == 0
        daemon.choose_action("Mark read")
        signals.wait_for("UnreadChanged", unread(room, 0))
        assert client.unread_get(room, "alice") == {room: 0}
        # dunst 1.9 has no inline-reply: the tray offers no Reply there, only what dunst can do
        assert {line.split(" (")[0] for line in daemon.offered_actions()} == {"#Open", "#Mark read"}
        assert "inline-reply" not in tray.log_text().split("capabilities: ")[1].splitlines()[0]
        wait_until(lambda: daemon.count() == 0, 10, "the notification to close")
        (shown,) = daemon.history()
        assert shown["summary"] == f"carol mentioned you in {room}"
        assert shown["body"] == "what does alice think?\n(2 unread)"


def test_every_room_message_when_asked(scene: Scene, backend_env: dict[str, str], tmp_path: Path) -> None:
    client, signals, carol, room = scene
    tray = TrayProcess(backend_env, tmp_path / "tray.log", "--room-messages", "all", "--privacy")
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server:
        tray.start()
        try:
            loaded(tray)
            peer_says(carol, room, "tea, anyone?")
            signals.wait_for("MessageNew", room_message(room, "tea, anyone?", "alice"))
            signals.wait_for("UnreadChanged", unread(room, 1))
            _, shown = server.wait_notify()
            assert (shown["summary"], shown["body"]) == (f"carol in {room}", "1 new message")   # privacy: who, not what
            client.mark_read(room, "", "alice")        # read by another frontend: the notification goes
            server.wait_close()
        finally:
            assert tray.stop() == 0
