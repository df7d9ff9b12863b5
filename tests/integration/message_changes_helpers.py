"""Shared fixtures and steps of the reaction, correction and retraction tests: the
profile alice on the backend, carol as an independent slixmpp client, on the server of
the test's parameter (``fresh_xmpp_server``: Prosody, and ejabberd in modules marked so)."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import pytest
from slixmpp import Message

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.xmpp_helpers import create_xmpp_profile

NS_REACTIONS = "urn:xmpp:reactions:0"
NS_CORRECT = "urn:xmpp:message-correct:0"
NS_RETRACT = "urn:xmpp:message-retract:1"
NS_FALLBACK = "urn:xmpp:fallback:0"
NS_HINTS = "urn:xmpp:hints"

Alice = tuple[BridgeClient, SignalRecorder]


@pytest.fixture
def alice(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> Iterator[Alice]:
    """Profile alice, connected; a recorder of MessageNew and MessageUpdate."""
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, "MessageNew", "MessageUpdate")
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    yield client, signals
    client.disconnect("alice")


@pytest.fixture
def carol(fresh_xmpp_server: XmppServer) -> Iterator[XmppPeer]:
    peer = connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"])
    yield peer
    peer.disconnect()


def new_message(text: str) -> Callable[..., bool]:
    return lambda uid, ts, sender, to, message, subject, mtype, extra, profile: (
        message.get("") == text and profile == "alice"
    )


def carol_sends(carol: XmppPeer, signals: SignalRecorder, text: str, **interfaces: Any) -> tuple[str, str]:
    """Carol sends ``text`` to alice; once alice has it: (the stanza's id, its uid in history)."""
    stanza_id = carol.send_message("alice@localhost", text, **interfaces)
    uid: str = signals.wait_for("MessageNew", new_message(text))[0]
    return stanza_id, uid


def wait_update(signals: SignalRecorder, uid: str, update_type: str) -> dict[str, Any]:
    """The data of the next ``MessageUpdate`` of that message and type, for alice."""
    args = signals.wait_for(
        "MessageUpdate", lambda update_uid, kind, data, profile: (update_uid, kind, profile) == (uid, update_type, "alice")
    )
    data: dict[str, Any] = json.loads(args[2])
    return data


def history_row(client: BridgeClient, uid: str) -> tuple[Any, ...]:
    (row,) = [row for row in client.history_get("", "", 0, False, "{}", "alice") if row[0] == uid]
    return row


def history_uids(client: BridgeClient) -> list[str]:
    return [row[0] for row in client.history_get("", "", 0, False, "{}", "alice")]


def has_child(namespace: str, name: str) -> Callable[[Message], bool]:
    return lambda message: message.xml.find(f"{{{namespace}}}{name}") is not None


def features_of(peer: XmppPeer, client: BridgeClient) -> set[str]:
    """What alice's client advertises (XEP-0030), as the peer sees it."""
    client.message_send(peer.jid.split("/")[0], {"": "who are you?"}, {}, "chat", "{}", "alice")
    own_jid = peer.wait_message(lambda message: message["body"] == "who are you?")["from"]
    info = peer.call(lambda xmpp: xmpp.plugin["xep_0030"].get_info(jid=own_jid))
    return set(info["disco_info"]["features"])
