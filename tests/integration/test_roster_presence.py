"""Roster and presence between two profiles (and a slixmpp peer) on a real Prosody and ejabberd."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterator

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.conftest import OWN_CHECKS_ONLY
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.integration.xmpp_helpers import create_xmpp_profile, exchange

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

SIGNALS = ("ContactNew", "ContactDeleted", "ContactSubscriptionRequest", "PresenceUpdate")


@pytest.fixture
def pair(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> Iterator[tuple[BridgeClient, SignalRecorder]]:
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, *SIGNALS)
    for user in ("alice", "bob"):
        create_xmpp_profile(client, fresh_xmpp_server, user)
        client.connect(user)
    yield client, signals
    assert backend.client is not None  # the test may have restarted the backend
    for user in ("alice", "bob"):
        backend.client.disconnect(user)


def contact_is(jid: str, profile: str, **attributes: str):  # type: ignore[no-untyped-def]
    return lambda j, attrs, groups, prof: j == jid and prof == profile and all(
        attrs.get(k) == v for k, v in attributes.items()
    )


def test_subscription_roster_and_presence(pair: tuple[BridgeClient, SignalRecorder],
                                          backend: BackendProcess) -> None:
    client, signals = pair
    client.contact_add("bob@localhost", "alice")
    signals.wait_for("ContactNew", contact_is("bob@localhost", "alice", ask="subscribe"))
    assert signals.wait_for("ContactSubscriptionRequest") == ("alice@localhost", "bob")

    client.contact_subscription_answer("alice@localhost", True, "bob")
    signals.wait_for("ContactNew", contact_is("bob@localhost", "alice", subscription="both"), timeout=20)
    signals.wait_for("ContactNew", contact_is("alice@localhost", "bob", subscription="both"), timeout=20)
    # mutual subscription: each sees the other's presence
    signals.wait_for("PresenceUpdate", lambda entity, show, prio, st, prof:
                     entity.startswith("bob@localhost/") and prof == "alice")

    client.presence_set("", "away", {"": "lunch", "fr": "déjeuner"}, "bob")
    update = signals.wait_for("PresenceUpdate", lambda entity, show, prio, st, prof: show == "away" and prof == "alice")
    assert update[3] == {"": "lunch", "fr": "déjeuner"}
    statuses = client.presence_statuses_get("alice")
    assert list(statuses) == ["bob@localhost"]
    (resource_state,) = statuses["bob@localhost"].values()
    assert resource_state[0] == "away"

    client.contact_update("bob@localhost", "Bobby", ["friends", "work"], "alice")
    signals.wait_for("ContactNew", contact_is("bob@localhost", "alice", name="Bobby"))
    contacts = {jid: (attrs, groups) for jid, attrs, groups in client.contacts_get("alice")}
    assert contacts["bob@localhost"] == ({"name": "Bobby", "subscription": "both", "ask": ""}, ["friends", "work"])

    # the local copy serves the roster offline and across a backend restart
    client.disconnect("alice")
    client = backend.restart()
    assert {jid: groups for jid, _, groups in client.contacts_get("alice")} == {"bob@localhost": ["friends", "work"]}

    signals = SignalRecorder(client, *SIGNALS)
    client.connect("alice")
    client.connect("bob")
    signals.wait_for("PresenceUpdate", lambda entity, show, prio, st, prof:
                     entity.startswith("bob@localhost/") and prof == "alice")
    client.contact_delete("bob@localhost", "alice")
    assert signals.wait_for("ContactDeleted", lambda jid, prof: prof == "alice") == ("bob@localhost", "alice")
    assert client.contacts_get("alice") == []
    # bob lost his subscription to alice's presence: his roster entry says so
    signals.wait_for("ContactNew", contact_is("alice@localhost", "bob", subscription="none"), timeout=20)


def test_refused_subscription(pair: tuple[BridgeClient, SignalRecorder]) -> None:
    client, signals = pair
    client.contact_add("alice@localhost", "bob")
    signals.wait_for("ContactSubscriptionRequest", lambda jid, prof: prof == "alice")
    client.contact_subscription_answer("bob@localhost", False, "alice")
    signals.wait_for("ContactNew", contact_is("alice@localhost", "bob", ask="", subscription="none"))


@pytest.mark.prosody_only(OWN_CHECKS_ONLY)
def test_bad_input(pair: tuple[BridgeClient, SignalRecorder]) -> None:
    client, _ = pair
    for call in (
        lambda: client.contact_add("not a jid", "alice"),
        lambda: client.contact_add("bob@localhost/res", "alice"),
        lambda: client.contact_add("bob@a..b", "alice"),  # an empty label: Twisted raised IndexError (Internal)
        lambda: client.presence_set("", "sleeping", {}, "alice"),
        lambda: client.presence_set("", "away", {"": "x" * 5000}, "alice"),
    ):
        with pytest.raises(errors.InvalidArgument):
            call()
    with pytest.raises(errors.NotFound):
        client.contact_delete("stranger@localhost", "alice")
    with pytest.raises(errors.NotFound):
        client.contact_update("stranger@localhost", "x", [], "alice")
    client.disconnect("alice")
    with pytest.raises(errors.ProfileNotConnected):
        client.contact_add("bob@localhost", "alice")


def assert_same_session(client: BridgeClient, sessions: SignalRecorder, connections: int) -> None:
    """alice's session carries messages both ways, and no other session was opened
    (``connections``: the ``Connected`` signals expected since ``sessions`` started): the
    server never closed the stream (on a bad status it reconnected 24 times in 20 s)."""
    exchange(client, sessions, "bob", "alice", "are you there?")
    exchange(client, sessions, "alice", "bob", "still here")
    with pytest.raises(AssertionError):  # a bounded wait for a reconnection that must not come
        sessions.wait_for("Disconnected", lambda prof: prof == "alice", timeout=3)
    connected = [name for name, args in sessions.history if name == "Connected" and args[1] == "alice"]
    assert connected == ["Connected"] * connections
    assert client.is_connected("alice")


@pytest.mark.prosody_only(OWN_CHECKS_ONLY)
def test_a_status_xml_forbids_is_refused_and_never_sent(pair: tuple[BridgeClient, SignalRecorder]) -> None:
    client, _ = pair
    sessions = SignalRecorder(client, "Connected", "Disconnected", "MessageNew")
    for statuses in ({"": "bell\x07"}, {"": "ok", "fr": "a\ufffe"}, {"fr\x1b": "salut"}):
        with pytest.raises(errors.InvalidArgument, match="status.* contains a character XML does not allow") as refused:
            client.presence_set("", "away", statuses, "alice")
        assert "bell" not in str(refused.value)
    for name, groups in (("Bob\x07", []), ("Bob", ["friends", "\x01"]), ("\uffff", [])):
        with pytest.raises(errors.InvalidArgument, match="(name|group).* contains a character XML does not allow"):
            client.contact_update("bob@localhost", name, groups, "alice")
    assert_same_session(client, sessions, connections=0)


@pytest.mark.prosody_only(OWN_CHECKS_ONLY)
def test_a_stored_value_xml_forbids_is_dropped_not_sent_at_each_login(backend: BackendProcess,
                                                                       fresh_xmpp_server: XmppServer) -> None:
    """The roster version goes into the roster request of every login: one stored with a
    control character (by an older release) closed the stream at each login."""
    client = backend.client
    assert client is not None
    for user in ("alice", "bob"):
        create_xmpp_profile(client, fresh_xmpp_server, user)
        client.connect(user)
        client.disconnect(user)
    backend.stop()
    with sqlite3.connect(Path(backend.env["XDG_DATA_HOME"]) / "sat" / "sat.db") as db:
        changed = db.execute("UPDATE private_individual SET value = ? WHERE namespace = 'roster' AND key = 'version' "
                             "AND profile_id = (SELECT id FROM profiles WHERE name = 'alice')",
                             (json.dumps("v\x07"),)).rowcount
    assert changed == 1
    client = backend.start()
    sessions = SignalRecorder(client, "Connected", "Disconnected", "MessageNew")
    try:
        client.connect("alice")
        client.connect("bob")
        assert_same_session(client, sessions, connections=1)
        assert "dropped a stored roster version holding a character XML does not allow" in backend.log_text()
    finally:
        client.disconnect("alice")
        client.disconnect("bob")


def test_accepting_a_request_nobody_made_is_refused(pair: tuple[BridgeClient, SignalRecorder]) -> None:
    """It said "accepted" and added the JID to the roster (a pre-approval the user never meant)."""
    client, signals = pair
    with pytest.raises(errors.NotFound, match="^no pending subscription request from bob@localhost$"):
        client.contact_subscription_answer("bob@localhost", True, "alice")
    client.contact_add("alice@localhost", "bob")
    signals.wait_for("ContactSubscriptionRequest", lambda jid, prof: (jid, prof) == ("bob@localhost", "alice"))
    assert client.contacts_get("alice") == []  # the refused answer added nothing
    client.contact_subscription_answer("bob@localhost", True, "alice")
    signals.wait_for("ContactNew", contact_is("alice@localhost", "bob", subscription="both"), timeout=20)
    with pytest.raises(errors.NotFound):  # answered already
        client.contact_subscription_answer("bob@localhost", True, "alice")


@pytest.mark.prosody_only("ejabberd accepts our own JID in our roster: nothing to refuse")
def test_a_roster_change_the_server_refuses_is_a_stanza_error(pair: tuple[BridgeClient, SignalRecorder]) -> None:
    """Prosody refuses our own JID in our roster (not-allowed); it answered ``Internal``."""
    client, _ = pair
    with pytest.raises(errors.Stanza, match="^not-allowed: adding alice@localhost to the roster$"):
        client.contact_add("alice@localhost", "alice")
    assert client.contacts_get("alice") == []
