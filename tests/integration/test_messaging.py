"""Messages between profiles and with an independent client (slixmpp), on a real Prosody and ejabberd."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.conftest import OWN_CHECKS_ONLY, XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.xmpp_helpers import create_xmpp_profile, exchange

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd


@pytest.fixture
def online(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> Iterator[tuple[BridgeClient, SignalRecorder]]:
    """Profiles alice and bob, connected; a recorder of MessageNew."""
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, "MessageNew")
    for user in ("alice", "bob"):
        create_xmpp_profile(client, fresh_xmpp_server, user)
        client.connect(user)
    yield client, signals
    for user in ("alice", "bob"):
        client.disconnect(user)


@pytest.fixture
def carol(fresh_xmpp_server: XmppServer) -> Iterator[XmppPeer]:
    peer = connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"])
    yield peer
    peer.disconnect()


def body_is(text: str, profile: str):  # type: ignore[no-untyped-def]
    return lambda uid, ts, sender, to, message, subject, mtype, extra, prof: (
        message.get("") == text and prof == profile
    )


def test_two_profiles_chat(online: tuple[BridgeClient, SignalRecorder]) -> None:
    client, signals = online
    uid = client.message_send("bob@localhost", {"": "hello bob"}, {}, "chat", '{"thread": "t1"}', "alice")
    sent = signals.wait_for("MessageNew", body_is("hello bob", "alice"))
    assert sent[0] == uid and sent[2].startswith("alice@localhost/") and sent[3] == "bob@localhost"
    received = signals.wait_for("MessageNew", body_is("hello bob", "bob"))
    assert received[2].startswith("alice@localhost/") and received[6] == "chat"

    client.message_send("alice@localhost", {"": "hi alice", "fr": "salut alice"}, {"": "greetings"}, "", "{}", "bob")
    reply = signals.wait_for("MessageNew", body_is("hi alice", "alice"))
    assert reply[4] == {"": "hi alice", "fr": "salut alice"} and reply[5] == {"": "greetings"}

    history = client.history_get("alice@localhost", "bob@localhost", 0, True, "{}", "alice")
    assert [row[4][""] for row in history] == ["hello bob", "hi alice"]
    assert json.loads(history[0][7]) == {"thread": "t1"}
    bob_side = client.history_get("bob@localhost", "", 0, False, "{}", "bob")
    assert [row[4][""] for row in bob_side] == ["hi alice"]
    assert [r[4][""] for r in client.history_get("", "", 1, False, "{}", "alice")] == ["hi alice"]
    found = client.history_get("", "", 0, False, '{"body": "HELLO"}', "alice")
    assert [r[0] for r in found] == [uid]


def test_slixmpp_peer_both_ways(online: tuple[BridgeClient, SignalRecorder], carol: XmppPeer) -> None:
    client, signals = online
    carol.send_message("alice@localhost", "from slixmpp")
    received = signals.wait_for("MessageNew", body_is("from slixmpp", "alice"))
    assert received[2].startswith("carol@localhost/")
    uid = client.message_send("carol@localhost", {"": "from sat"}, {}, "chat", "{}", "alice")
    got = carol.wait_message(lambda message: message["body"] == "from sat")
    assert got["id"] == uid
    assert got.xml.find("{urn:xmpp:sid:0}origin-id").get("id") == uid


def test_hostile_stanzas_do_not_kill_the_session(online: tuple[BridgeClient, SignalRecorder],
                                                   carol: XmppPeer) -> None:
    client, signals = online
    carol.send_message("alice@localhost", "x" * 200_000)
    carol.send_message("alice@localhost", "odd", payloads=["<weird xmlns='urn:example:unknown'><deep><er/></deep></weird>"])
    carol.send_message("alice@localhost", "after the junk")
    signals.wait_for("MessageNew", body_is("after the junk", "alice"))
    assert client.is_connected("alice") is True


@pytest.mark.prosody_only(OWN_CHECKS_ONLY)
def test_bad_input(online: tuple[BridgeClient, SignalRecorder]) -> None:
    client, _ = online
    cases = [
        ("not a jid@@", {"": "x"}, "chat", "{}"),
        ("bob@localhost", {}, "chat", "{}"),
        ("bob@localhost", {"": "x"}, "bogus", "{}"),
        ("bob@localhost", {"": "x"}, "chat", "[1]"),
        ("bob@localhost", {"": "x"}, "chat", "{bad json"),
        ("bob@localhost", {"": "x"}, "chat", '{"retracted": 1}'),  # would read as a tombstone
        ("bob@localhost", {"": "x"}, "chat", '{"thread": "t", "reactions": {"👍": ["me@x"]}}'),
        ("bob@localhost", {"": "x"}, "chat", '{"error": {"condition": "gone"}}'),  # a delivery error is ours to say
        ("bob@a..b", {"": "x"}, "chat", "{}"),  # an empty label (Twisted raised IndexError: Internal)
        ("bob@localhost", {"": "x", "en-" + "x" * 40: "y"}, "chat", "{}"),  # history keeps 35 characters
    ]
    for to, body, mtype, extra in cases:
        with pytest.raises(errors.InvalidArgument):
            client.message_send(to, body, {}, mtype, extra, "alice")
    for filters in ('{"nope": 1}', '{"types": "chat"}', "[]", '{"after": "yesterday"}'):
        with pytest.raises(errors.InvalidArgument):
            client.history_get("", "", 0, False, filters, "alice")
    with pytest.raises(errors.InvalidArgument):
        client.history_get("", "", -1, False, "{}", "alice")
    client.disconnect("alice")
    with pytest.raises(errors.ProfileNotConnected):
        client.message_send("bob@localhost", {"": "x"}, {}, "chat", "{}", "alice")


#: characters XML 1.0 forbids that D-Bus carries (NUL and lone surrogates cannot cross it)
FORBIDDEN = ["bell\x07", "\x01", "x\x1f", "\x0b", "a\ufffeb", "\uffff"]


@pytest.mark.prosody_only(OWN_CHECKS_ONLY)
def test_text_xml_forbids_is_refused_before_anything_is_stored_or_sent(
        online: tuple[BridgeClient, SignalRecorder]) -> None:
    """Such a message got a uid, was stored, and the server closed the stream on it."""
    client, signals = online
    sessions = SignalRecorder(client, "Disconnected")
    for text in FORBIDDEN:
        for bodies, subjects in (({"": text}, {}), ({"": "ok"}, {"": text}), ({text: "ok"}, {}), ({}, {"fr" + text: "x"})):
            # refused before storing, by the bridge's argument check or the IM core's own
            # (tests/unit/test_im_xml_texts.py), not only by the stream's last guard
            with pytest.raises(errors.InvalidArgument, match="(message|subject).* contains a character XML does not allow") as refused:
                client.message_send("bob@localhost", bodies, subjects, "chat", "{}", "alice")
            assert text not in str(refused.value)
    assert client.history_get("", "", 0, False, "{}", "alice") == []

    exchange(client, signals, "bob", "alice", "ready?")  # bob's initial presence reached the server
    uid = client.message_send("bob@localhost", {"": "clean"}, {}, "chat", "{}", "alice")
    signals.wait_for("MessageNew", body_is("clean", "bob"))
    for text in FORBIDDEN:
        for bodies in ({"": text}, {text: "ok"}):
            with pytest.raises(errors.InvalidArgument, match="message.* contains a character XML does not allow"):
                client.message_edit(uid, bodies, "{}", "alice")
        with pytest.raises(errors.InvalidArgument):
            client.message_reactions_set(uid, [text], "add", "alice")
    (row,) = [row for row in client.history_get("", "", 0, False, "{}", "alice") if row[0] == uid]
    assert row[4] == {"": "clean"} and json.loads(row[7]) == {}  # no edit, no reaction stored

    # the stream never saw them: the session is the same, messages still flow
    client.message_send("bob@localhost", {"": "still here"}, {}, "chat", "{}", "alice")
    signals.wait_for("MessageNew", body_is("still here", "bob"))
    assert client.is_connected("alice") and sessions.history == []


#: each server's words for a message it cannot deliver (s2s is off on both test servers)
DELIVERY_ERRORS = {
    "nosuchuser@localhost": {"prosody": ("service-unavailable", ""),
                             "ejabberd": ("service-unavailable", "")},
    "someone@unknown.example": {"prosody": ("not-allowed", "Communication with remote domains is not enabled"),
                                "ejabberd": ("forbidden", "Access denied by service policy")},
}


@pytest.mark.parametrize("recipient", DELIVERY_ERRORS)
def test_the_servers_delivery_error_is_kept_in_history_and_signalled(
        online: tuple[BridgeClient, SignalRecorder], recipient: str, xmpp_server_name: str) -> None:
    client, _ = online
    updates = SignalRecorder(client, "MessageUpdate")
    uid = client.message_send(recipient, {"": "anyone there?"}, {}, "chat", "{}", "alice")
    _, kind, data, profile = updates.wait_for("MessageUpdate", lambda update_uid, *_: update_uid == uid)
    condition, text = DELIVERY_ERRORS[recipient][xmpp_server_name]
    expected = {"condition": condition, "text": text}
    assert (kind, json.loads(data), profile) == ("error", {"error": expected}, "alice")
    (row,) = client.history_get("", recipient, 0, False, "{}", "alice")
    assert row[0] == uid and json.loads(row[7]) == {"error": expected}
    # the session goes on
    exchange(client, online[1], "bob", "alice", "still there?")
    exchange(client, online[1], "alice", "bob", "yes")
