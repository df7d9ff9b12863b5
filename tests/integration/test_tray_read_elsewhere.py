"""``sat-tray`` bullets of issue 16 that the other tray tests leave out, with real parts
(private bus, Prosody, slixmpp as carol and as alice's phone, the notification server
written from the specification): a conversation's notification closes when it is read
on another device (a XEP-0333 displayed marker, or our reply, received by carbons);
without a notification server the tray logs it and goes on counting, and notifies
once a server appears; "Open" runs ``--open-command`` for the conversation."""

from __future__ import annotations

from pathlib import Path

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import SignalRecorder
from tests.fixtures.notification_server import NotificationServer
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.sni_host import SniHost
from tests.fixtures.tray import TrayProcess
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.archive_helpers import wait_until
from tests.integration.test_read_state import CAROL, MARKERS, alice, prosody, receive, unread_signal  # noqa: F401

OPENED = "opened"


def started(tray: TrayProcess) -> TrayProcess:
    tray.start()
    wait_until(lambda: "backend state loaded" in tray.log_text(), 10, "the tray to load the backend's state")
    return tray


def test_closed_when_read_on_another_device(alice: BridgeClient, prosody: ProsodyServer,
                                            backend_env: dict[str, str], tmp_path: Path) -> None:
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    tray = TrayProcess(backend_env, tmp_path / "tray.log")
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server, \
            connected_peer(prosody, "alice", XMPP_ACCOUNTS["alice"]) as phone, \
            connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        started(tray)
        try:
            stanza_id, _ = receive(carol, signals, "seen on the phone?")
            signals.wait_for("UnreadChanged", unread_signal(1))
            first_id, shown = server.wait_notify(1)
            assert shown["summary"] == f"Message from {CAROL}"
            tray.wait_notification(first_id, CAROL)
            # the phone displays it: its marker comes back by carbons, the count drops
            phone.send_message(CAROL, payloads=[f"<displayed xmlns='{MARKERS}' id='{stanza_id}'/>"])
            signals.wait_for("UnreadChanged", unread_signal(0))
            assert server.wait_close(1) == first_id

            receive(carol, signals, "and now?")
            signals.wait_for("UnreadChanged", unread_signal(1))
            second_id, _ = server.wait_notify(2)
            assert second_id != first_id            # the first one was closed: a new one
            tray.wait_notification(second_id, CAROL)
            phone.send_message(CAROL, "answered on my phone")   # our reply, by carbons
            signals.wait_for("UnreadChanged", unread_signal(0))
            assert server.wait_close(2) == second_id
            assert [event for event, _ in server.service.log].count("notify") == 2
        finally:
            assert tray.stop() == 0


def test_without_notification_server_then_with_one(alice: BridgeClient, prosody: ProsodyServer,
                                                   backend_env: dict[str, str], tmp_path: Path) -> None:
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    tray = TrayProcess(backend_env, tmp_path / "tray.log")
    address = backend_env["DBUS_SESSION_BUS_ADDRESS"]
    with SniHost(address) as host, connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        started(tray)
        try:
            assert "no notification server on the session bus" in tray.log_text()
            item = host.wait_registered()
            receive(carol, signals, "nobody shows this")
            signals.wait_for("UnreadChanged", unread_signal(1))
            # counted all the same, no crash
            host.wait_property(item, "ToolTip", lambda tip: "1 unread message" in tip[3])
            with NotificationServer(address) as server:
                wait_until(lambda: "notification server found" in tray.log_text(), 10,
                           "the tray to see the notification server")
                receive(carol, signals, "now shown")
                signals.wait_for("UnreadChanged", unread_signal(2))
                _, shown = server.wait_notify()
                assert shown["summary"] == f"Message from {CAROL}"
                assert shown["body"] == "now shown\n(2 unread)"
            assert tray.process is not None and tray.process.poll() is None
        finally:
            assert tray.stop() == 0


def test_open_runs_the_open_command(alice: BridgeClient, prosody: ProsodyServer, backend_env: dict[str, str],
                                    tmp_path: Path) -> None:
    signals = SignalRecorder(alice, "MessageNew", "UnreadChanged")
    opened = tmp_path / OPENED
    opened.mkdir()
    tray = TrayProcess(backend_env, tmp_path / "tray.log", "--open-command", f"touch {opened}/{{profile}}:{{jid}}")
    with NotificationServer(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as server, \
            connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        started(tray)
        try:
            receive(carol, signals, "open me")
            signals.wait_for("UnreadChanged", unread_signal(1))
            notification_id, shown = server.wait_notify()
            assert shown["actions"][::2] == ["default", "open", "mark-read", "inline-reply"]
            tray.wait_notification(notification_id, CAROL)
            server.invoke(notification_id, "open")
            wait_until(lambda: (opened / f"alice:{CAROL}").exists(), 10, "the open command to run")
            assert alice.unread_get(CAROL, "alice") == {CAROL: 1}   # opening is not reading
        finally:
            assert tray.stop() == 0
