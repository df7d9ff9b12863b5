"""``sat-tray`` notifies reactions to our messages (XEP-0444, ``ReactionsReceived``), on a
real Prosody with slixmpp as the other end and the spec-following notification server
on the private bus: only someone else's reactions to a message we sent, one notification
per conversation (replaced as reactions come), the reacted message quoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.notification_server import NotificationServer
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.tray import TrayProcess, tray  # noqa: F401 - the fixture
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.archive_helpers import wait_until
from tests.integration.xmpp_helpers import create_xmpp_profile

CAROL = "carol@localhost"


@pytest.fixture
def prosody(fresh_prosody: ProsodyServer) -> ProsodyServer:
    """A server of this test's own: no archived message from earlier tests."""
    return fresh_prosody


def test_reaction_to_our_message_is_notified(backend: BackendProcess, prosody: ProsodyServer,
                                             tray: TrayProcess, backend_env: dict[str, str],
                                             tmp_path: Path) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, prosody, "alice")
    client.connect("alice")
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
