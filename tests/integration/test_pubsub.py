"""Pubsub (XEP-0060) and PEP through the bridge, against Prosody's pubsub component, with
slixmpp publishing as the independent peer."""

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
from tests.integration.xmpp_helpers import connected_profile

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

SERVICE = "pubsub.localhost"
MAX_ITEMS = json.dumps({"pubsub#max_items": "max"})


def entry(text: str) -> str:
    return f"<entry xmlns='urn:example:test'><text>{text}</text></entry>"


@pytest.fixture
def alice(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> Iterator[BridgeClient]:
    with connected_profile(backend, fresh_xmpp_server, "alice") as client:
        yield client


@pytest.fixture
def carol(fresh_xmpp_server: XmppServer) -> Iterator[XmppPeer]:
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as peer:
        yield peer


def get(client: BridgeClient, node: str, max_items: int = 0, ids: list[str] | None = None,
        extra: dict | None = None, service: str = SERVICE) -> dict:  # type: ignore[type-arg]
    return json.loads(client.ps_items_get(service, node, max_items, ids or [], "", json.dumps(extra or {}), "alice"))


def texts(result: dict) -> list[str]:  # type: ignore[type-arg]
    return [xml.split("<text>")[1].split("</text>")[0] for xml in result["items"]]


def test_node_and_items_lifecycle(alice: BridgeClient) -> None:
    assert alice.ps_node_create(SERVICE, "notes", MAX_ITEMS, "alice") == "notes"
    assert alice.ps_item_send(SERVICE, "notes", entry("one"), "i1", "{}", "alice") == "i1"
    alice.ps_item_send(SERVICE, "notes", entry("two"), "i2", "{}", "alice")
    chosen = alice.ps_item_send(SERVICE, "notes", entry("three"), "", "{}", "alice")
    assert chosen and chosen not in ("i1", "i2")

    everything = get(alice, "notes")
    assert sorted(texts(everything)) == ["one", "three", "two"]
    assert everything["complete"] is True and everything["cached"] is False
    assert everything["service"] == SERVICE and everything["node"] == "notes"
    two = get(alice, "notes", max_items=2)
    assert len(two["items"]) == 2 and two["complete"] is False
    assert texts(get(alice, "notes", ids=["i2"])) == ["two"]

    alice.ps_item_retract(SERVICE, "notes", "i1", True, "alice")
    assert sorted(texts(get(alice, "notes"))) == ["three", "two"]
    alice.ps_node_purge(SERVICE, "notes", "alice")
    assert get(alice, "notes")["items"] == []
    alice.ps_node_delete(SERVICE, "notes", "alice")
    with pytest.raises(errors.NotFound, match="item-not-found"):
        get(alice, "notes")


def test_notifications_become_ps_events_in_order(alice: BridgeClient, carol: XmppPeer,
                                                 backend: BackendProcess) -> None:
    # notify_delete asked: ejabberd (unlike Prosody) does not notify deletes by default
    carol.create_node(SERVICE, "news", {"pubsub#max_items": "max", "pubsub#notify_delete": "1"})
    signals = SignalRecorder(alice, "PsEvent")
    alice.ps_subscribe(SERVICE, "news", "{}", "alice")
    carol.publish(SERVICE, "news", entry("first"), "n1")
    carol.publish(SERVICE, "news", entry("second"), "n2")
    carol.retract(SERVICE, "news", "n1")
    carol.call(lambda xmpp: xmpp.plugin["xep_0060"].purge(SERVICE, "news"))
    carol.call(lambda xmpp: xmpp.plugin["xep_0060"].delete_node(SERVICE, "news"))
    events = [signals.wait_for("PsEvent") for _ in range(5)]
    assert [(e[1], e[2], e[3], e[5]) for e in events] == [
        (SERVICE, "news", kind, "alice") for kind in ("items", "items", "retract", "purge", "delete")
    ]
    first = json.loads(events[0][4])
    assert first["items"][0]["id"] == "n1" and "<text>first</text>" in first["items"][0]["xml"]
    assert json.loads(events[2][4])["retracted"] == ["n1"]


def test_own_pep_service(alice: BridgeClient) -> None:
    alice.ps_item_send("", "urn:example:mood", entry("happy"), "current", "{}", "alice")
    assert texts(get(alice, "urn:example:mood", service="")) == ["happy"]


@pytest.mark.prosody_only(OWN_CHECKS_ONLY)
def test_bad_input(alice: BridgeClient, backend: BackendProcess) -> None:
    for call in (
        lambda: alice.ps_item_send("not a jid@@", "n", entry("x"), "", "{}", "alice"),
        lambda: alice.ps_item_send(SERVICE, "n", "<unclosed>", "", "{}", "alice"),
        lambda: alice.ps_item_send(SERVICE, "n", "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "", "{}", "alice"),
        lambda: alice.ps_item_send(SERVICE, "n", "<a/><b/>", "", "{}", "alice"),
        lambda: alice.ps_items_get(SERVICE, "n", -1, [], "", "{}", "alice"),
        lambda: alice.ps_items_get(SERVICE, "n", 0, [], "", '{"rsm_max": "ten"}', "alice"),
        lambda: alice.ps_items_get(SERVICE, "n", 0, [], "", '{"nope": 1}', "alice"),
        lambda: alice.ps_node_create(SERVICE, "bad\nname", "{}", "alice"),
        # no node: refused before any request (tx-xmpp could not even build these)
        lambda: alice.ps_items_get(SERVICE, "", 0, [], "", "{}", "alice"),
        lambda: alice.ps_item_send(SERVICE, "", entry("x"), "", "{}", "alice"),
        lambda: alice.ps_item_retract(SERVICE, "", "x", True, "alice"),
        lambda: alice.ps_node_purge(SERVICE, "", "alice"),
        lambda: alice.ps_node_delete(SERVICE, "", "alice"),
    ):
        with pytest.raises(errors.InvalidArgument):
            call()
    with pytest.raises(errors.NotFound):
        alice.ps_items_get(SERVICE, "no-such-node", 0, [], "", "{}", "alice")
    alice.disconnect("alice")
    with pytest.raises(errors.ProfileNotConnected):
        alice.ps_items_get(SERVICE, "n", 0, [], "", "{}", "alice")


def test_rsm_after_empty_is_the_first_page(alice: BridgeClient, carol: XmppPeer) -> None:
    """``rsm_after: ""`` means "from the start" (as in the cache): the first page whether the
    service pages (ejabberd: its cursors are its own) or not (Prosody: paged here)."""
    carol.create_node(SERVICE, "pages", {"pubsub#max_items": "max"})
    for name in ("a", "b", "c"):
        carol.publish(SERVICE, "pages", entry(name), name)
    first = get(alice, "pages", extra={"use_cache": False, "rsm_max": 2, "rsm_after": ""})
    assert texts(first) == ["a", "b"] and first["rsm"]["count"] == 3
    assert first["complete"] is False
