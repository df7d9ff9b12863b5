"""A cached node followed live: each notification of the peer (publish, retract, purge,
delete) is in the database when its ``PsEvent`` arrives, and the signals come in order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import SignalRecorder
from tests.fixtures.xmpp_peer import XmppPeer
from tests.integration.test_pubsub import SERVICE, alice, carol, entry, texts  # noqa: F401 - fixtures

__all__ = ["alice", "carol"]


def cached(client: BridgeClient, node: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(client.ps_cache_get(SERVICE, node, 0, [], "", "{}", "alice"))
    return result


def test_peer_changes_reach_the_cache_before_their_signals(alice: BridgeClient, carol: XmppPeer) -> None:
    carol.create_node(SERVICE, "live", {"pubsub#max_items": "max"})
    carol.publish(SERVICE, "live", entry("before"), "b0")
    alice.ps_cache_sync(SERVICE, "live", "alice")
    assert texts(cached(alice, "live")) == ["before"]
    signals = SignalRecorder(alice, "PsEvent")
    seen: list[str] = []

    def next_event(kind: str) -> dict[str, Any]:
        event = signals.wait_for("PsEvent", lambda cat, svc, node, event_kind, data, prof: node == "live")
        seen.append(event[3])
        assert event[3] == kind, f"expected {kind}, got {seen}"
        data: dict[str, Any] = json.loads(event[4])
        return data

    carol.publish(SERVICE, "live", entry("one"), "i1")
    assert [item["id"] for item in next_event("items")["items"]] == ["i1"]
    assert texts(cached(alice, "live")) == ["before", "one"]  # stored before the signal

    carol.retract(SERVICE, "live", "b0")
    assert next_event("retract")["retracted"] == ["b0"]
    assert texts(cached(alice, "live")) == ["one"]

    carol.call(lambda xmpp: xmpp.plugin["xep_0060"].purge(SERVICE, "live"))
    next_event("purge")
    purged = cached(alice, "live")
    assert purged["items"] == [] and purged["rsm"]["count"] == 0 and purged["cached"] is True

    carol.publish(SERVICE, "live", entry("after purge"), "i2")
    next_event("items")
    assert texts(cached(alice, "live")) == ["after purge"]

    carol.call(lambda xmpp: xmpp.plugin["xep_0060"].delete_node(SERVICE, "live"))
    next_event("delete")
    with pytest.raises(errors.NotFound):
        cached(alice, "live")
    assert seen == ["items", "retract", "purge", "items", "delete"]
