"""XEP-0060 owner use cases (§8) and our own subscriptions/affiliations through the bridge,
against Prosody 0.12's pubsub component and PEP, with slixmpp as the other entity."""

from __future__ import annotations

import json
import uuid
from typing import Iterator

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.xmpp_helpers import connected_profile

SERVICE = "pubsub.localhost"


@pytest.fixture
def alice(backend: BackendProcess, prosody: ProsodyServer) -> Iterator[BridgeClient]:
    with connected_profile(backend, prosody, "alice") as client:
        yield client


@pytest.fixture
def carol(prosody: ProsodyServer) -> Iterator[XmppPeer]:
    with connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as peer:
        yield peer


@pytest.fixture
def node(alice: BridgeClient) -> str:
    """A node of alice's own on the component (unique: the Prosody is shared by the run)."""
    name = f"owner-{uuid.uuid4().hex[:8]}"
    alice.ps_node_create(SERVICE, name, json.dumps({"pubsub#max_items": "max"}), "alice")
    return name


def configuration(client: BridgeClient, node: str, service: str = SERVICE) -> dict:  # type: ignore[type-arg]
    return json.loads(client.ps_node_configuration_get(service, node, "alice"))


def test_configuration_read_and_changed(alice: BridgeClient, node: str) -> None:
    config = configuration(alice, node)
    assert config["values"]["pubsub#max_items"] == "max"
    access = config["fields"]["pubsub#access_model"]
    assert access["type"] == "list-single" and "whitelist" in access["options"]
    assert isinstance(config["values"]["pubsub#persist_items"], bool)

    alice.ps_node_configuration_set(SERVICE, node, json.dumps({
        "pubsub#title": "Owner's notes", "pubsub#access_model": "whitelist", "pubsub#max_items": 50,
        "pubsub#notify_retract": False,
    }), "alice")
    changed = configuration(alice, node)["values"]
    assert changed["pubsub#title"] == "Owner's notes" and changed["pubsub#access_model"] == "whitelist"
    assert changed["pubsub#max_items"] == "50" and changed["pubsub#notify_retract"] is False
    assert changed["pubsub#persist_items"] == config["values"]["pubsub#persist_items"]  # not given: kept


def test_configuration_bad_input(alice: BridgeClient, node: str) -> None:
    for options in ('{"pubsub#no_such_field": "x"}', '{"pubsub#access_model": "everyone"}',
                    '{"pubsub#notify_retract": "maybe"}', '{"pubsub#title": ["a", "b"]}',
                    '{"pubsub#title": {"a": 1}}', "{}", "[1]", "not json"):
        with pytest.raises(errors.InvalidArgument):
            alice.ps_node_configuration_set(SERVICE, node, options, "alice")
    with pytest.raises(errors.InvalidArgument):
        alice.ps_node_configuration_get(SERVICE, "", "alice")
    with pytest.raises(errors.InvalidArgument):
        alice.ps_node_configuration_get("bad jid@@", node, "alice")
    with pytest.raises(errors.NotFound, match="item-not-found"):
        alice.ps_node_configuration_get(SERVICE, f"{node}-missing", "alice")


def test_owner_and_own_requests_bad_input(alice: BridgeClient, node: str) -> None:
    """Refused before any request: an owner request without a node, a bad service JID."""
    for call in (lambda: alice.ps_node_affiliations_get(SERVICE, "", "alice"),
                 lambda: alice.ps_node_affiliations_set(SERVICE, "", {"carol@localhost": "member"}, "alice"),
                 lambda: alice.ps_node_subscriptions_get(SERVICE, "", "alice"),
                 lambda: alice.ps_node_subscriptions_get("bad jid@@", node, "alice"),
                 lambda: alice.ps_subscriptions_get("bad jid@@", "", "alice"),
                 lambda: alice.ps_affiliations_get("bad jid@@", "", "alice"),
                 lambda: alice.ps_subscriptions_get(SERVICE, "bad\nnode", "alice")):
        with pytest.raises(errors.InvalidArgument):
            call()


def test_affiliations_managed_by_the_owner(alice: BridgeClient, node: str, carol: XmppPeer) -> None:
    assert alice.ps_node_affiliations_get(SERVICE, node, "alice") == {"alice@localhost": "owner"}
    alice.ps_node_affiliations_set(SERVICE, node, {"carol@localhost": "publisher"}, "alice")
    assert alice.ps_node_affiliations_get(SERVICE, node, "alice") == {
        "alice@localhost": "owner", "carol@localhost": "publisher"}
    alice.ps_node_affiliations_set(SERVICE, node, {"carol@localhost": "none"}, "alice")
    assert alice.ps_node_affiliations_get(SERVICE, node, "alice") == {"alice@localhost": "owner"}

    for affiliations in ({"carol@localhost": "king"}, {"not a jid@@": "member"}, {}):
        with pytest.raises(errors.InvalidArgument):
            alice.ps_node_affiliations_set(SERVICE, node, affiliations, "alice")


def test_subscriptions_seen_by_owner_and_subscriber(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    """On a Prosody of its own: Prosody 0.12 drops a service-wide subscriptions request with
    a Lua error (util/pubsub.lua, ``flatten_subscriptions``) once one of the subscribed nodes
    was deleted, which other tests do on the shared server."""
    with connected_profile(backend, fresh_prosody, "alice") as alice, \
            connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        node = f"owner-{uuid.uuid4().hex[:8]}"
        alice.ps_node_create(SERVICE, node, json.dumps({"pubsub#max_items": "max"}), "alice")
        check_subscriptions(alice, node, carol)


def check_subscriptions(alice: BridgeClient, node: str, carol: XmppPeer) -> None:
    carol.call(lambda xmpp: xmpp.plugin["xep_0060"].subscribe(SERVICE, node))
    subscribers = json.loads(alice.ps_node_subscriptions_get(SERVICE, node, "alice"))
    assert [(entry["jid"].split("/")[0], entry["subscription"]) for entry in subscribers] == [
        ("carol@localhost", "subscribed")]

    assert json.loads(alice.ps_subscriptions_get(SERVICE, node, "alice")) == []
    alice.ps_subscribe(SERVICE, node, "{}", "alice")
    own = json.loads(alice.ps_subscriptions_get(SERVICE, node, "alice"))
    assert [(entry["node"], entry["jid"], entry["subscription"]) for entry in own] == [
        (node, "alice@localhost", "subscribed")]
    everywhere = json.loads(alice.ps_subscriptions_get(SERVICE, "", "alice"))
    assert (node, "alice@localhost") in {(entry["node"], entry["jid"]) for entry in everywhere}


def test_owner_requests_on_someone_elses_pep_node_are_refused(alice: BridgeClient, carol: XmppPeer) -> None:
    carol.publish("carol@localhost", "urn:example:owner-test", "<mood xmlns='urn:example:owner-test'/>", "now")
    for call in (lambda: alice.ps_node_configuration_get("carol@localhost", "urn:example:owner-test", "alice"),
                 lambda: alice.ps_node_affiliations_get("carol@localhost", "urn:example:owner-test", "alice")):
        with pytest.raises(errors.Stanza, match="^forbidden"):
            call()


def test_own_affiliations_not_offered_by_prosody_0_12(alice: BridgeClient, node: str) -> None:
    """Prosody 0.12 has no handler for §5.7 (retrieve-affiliations) and answers
    ``service-unavailable``: the condition reaches the frontend, nothing else breaks."""
    with pytest.raises(errors.Stanza, match="^service-unavailable"):
        alice.ps_affiliations_get(SERVICE, node, "alice")
    assert alice.ps_node_affiliations_get(SERVICE, node, "alice") == {"alice@localhost": "owner"}
