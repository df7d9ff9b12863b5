"""Roster and presence between two profiles (and a slixmpp peer) on a real Prosody."""

from __future__ import annotations

from typing import Iterator

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.integration.xmpp_helpers import create_xmpp_profile

SIGNALS = ("ContactNew", "ContactDeleted", "ContactSubscriptionRequest", "PresenceUpdate")


@pytest.fixture
def pair(backend: BackendProcess, fresh_prosody: ProsodyServer) -> Iterator[tuple[BridgeClient, SignalRecorder]]:
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, *SIGNALS)
    for user in ("alice", "bob"):
        create_xmpp_profile(client, fresh_prosody, user)
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


def test_bad_input(pair: tuple[BridgeClient, SignalRecorder]) -> None:
    client, _ = pair
    for call in (
        lambda: client.contact_add("not a jid", "alice"),
        lambda: client.contact_add("bob@localhost/res", "alice"),
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
