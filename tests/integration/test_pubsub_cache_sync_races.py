"""Notifications that arrive while a node is being synchronised: the sync's snapshot was
taken before them, so they are applied over it before the node is ``completed``; an
item published between the fetch and the end of the sync is neither lost nor doubled."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.pubsub_component import connected_component
from tests.integration.xmpp_helpers import create_xmpp_profile

NODE = "urn:example:notes"


def note(text: str) -> str:
    return f"<note xmlns='urn:example:notes'>{text}</note>"


def test_items_notified_during_a_sync_are_in_the_cache_when_it_completes(
    backend: BackendProcess, fresh_prosody: ProsodyServer,
) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_prosody, "alice")
    client.connect("alice")
    with connected_component(fresh_prosody) as component:
        service = component.service
        component.nodes[NODE] = [("n1", note("one")), ("n2", note("two"))]
        # published after the service built the answer the sync gets, notified before it
        component.send_items_before_next_answer("alice@localhost", NODE, [("late", note("late"))])
        signals = SignalRecorder(client, "PsEvent")
        client.ps_cache_sync(service, NODE, "alice")
        signals.wait_for("PsEvent", lambda *args: args[3] == "items" and json.loads(args[4])["items"][0]["id"] == "late")
        cached = json.loads(client.ps_cache_get(service, NODE, 0, [], "", "{}", "alice"))
        assert [ET.fromstring(xml).get("id") for xml in cached["items"]] == ["n1", "n2", "late"]
        assert cached["rsm"]["count"] == 3 and cached["complete"] is True
