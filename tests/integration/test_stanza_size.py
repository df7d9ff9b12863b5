"""A stanza over the server's size limit is refused before it is sent, on a real Prosody.

Each bridge string is bounded (256 KiB), but a stanza built of several (a body and a
subject, many item ids) went over the server's limit and the server closed the stream:
the session was lost. Now the call answers ``InvalidArgument`` and the session stays.
"""

from __future__ import annotations

import pytest

from sat_bridge import errors
from sat_backend.core.im.messaging import MAX_BODY_LENGTH
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.integration.test_messaging import online  # noqa: F401 - fixture
from tests.integration.xmpp_helpers import exchange

__all__ = ["online"]

#: the backend's default ``[xmpp] max_stanza_size``
STANZA_LIMIT = 64 * 1024


def test_stanzas_too_large_for_the_server_are_refused_and_the_session_stays(
        online: tuple[BridgeClient, SignalRecorder], backend: BackendProcess) -> None:
    client, recorder = online
    sessions = SignalRecorder(client, "Disconnected", "Connected")
    too_large = "too large for the server"

    with pytest.raises(errors.InvalidArgument, match="longer than 3071 characters"):
        client.ps_node_create("pubsub.localhost", "n" * 200_000, "{}", "alice")

    body = "b" * (MAX_BODY_LENGTH - 10)  # passes the bridge's and the body's bounds, not the stanza's
    with pytest.raises(errors.InvalidArgument, match=too_large) as refused:
        client.message_send("bob@localhost", {"": body}, {}, "chat", "{}", "alice")
    assert f"limit {STANZA_LIMIT} bytes" in str(refused.value) and "bbbb" not in str(refused.value)

    # a body and a subject within the message's bound (characters), ≈ 360 KB in UTF-8: over
    # Prosody's own 256 KiB limit too (it closed the stream on it, and the session was lost)
    emoji = "\U0001f600"
    with pytest.raises(errors.InvalidArgument, match=too_large):
        client.message_send("bob@localhost", {"": emoji * 60_000}, {"": emoji * 30_000}, "chat", "{}", "alice")

    many_ids = [f"{index:02d}" + "i" * 2998 for index in range(30)]  # each within its bound, ≈ 90 KB in all
    with pytest.raises(errors.InvalidArgument, match=too_large):
        client.ps_items_get("pubsub.localhost", "some-node", 0, many_ids, "", '{"use_cache": false}', "alice")

    # the same session goes on: no Disconnected, no new Connected, a message gets through
    exchange(client, recorder, "alice", "bob", "still here")
    assert client.is_connected("alice")
    assert sessions.received.empty()
    assert [row[4][""] for row in client.history_get("", "", 0, False, "{}", "alice")] == ["still here"]
    log = backend.log_text()
    assert "refused to send <message type='chat'> body" in log and "bbbb" not in log and emoji not in log
    assert "Traceback" not in log
