"""A burst of notifications bigger than the backend's queue bound: reading from the server
pauses while too many wait (memory stays bounded), and not one is lost: each reaches the
cache and its ``PsEvent`` goes out, in the order sent (issue 14, a flood's memory)."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET

from sat_backend.plugins.plugin_xep_0060 import MAX_QUEUED_EVENTS
from tests.fixtures.backend import BackendProcess
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.pubsub_component import connected_component
from tests.integration.xmpp_helpers import connected_profile

NODE = "urn:example:burst"
#: several times the bound: the server relays them faster than they are stored
BURST = 5 * MAX_QUEUED_EVENTS


def note(index: int) -> str:
    return f"<note xmlns='urn:example:notes'>burst note {index}</note>"


def test_a_burst_past_the_queue_bound_pauses_reading_and_loses_nothing(
    backend: BackendProcess, fresh_xmpp_server: XmppServer,
) -> None:
    with connected_profile(backend, fresh_xmpp_server, "alice") as client, \
            connected_component(fresh_xmpp_server) as component:
        component.nodes[NODE] = [("seed", note(-1))]
        client.ps_cache_sync(component.service, NODE, "alice", timeout=60)
        signalled: list[str] = []
        arrived = {BURST: threading.Event(), BURST + 1: threading.Event()}

        def on_ps_event(_category: str, _service: str, node: str, _kind: str, data: str, _profile: str) -> None:
            if node == NODE:
                signalled.extend(item["id"] for item in json.loads(data)["items"])
                for count, event in arrived.items():
                    if len(signalled) >= count:
                        event.set()

        client.on_signal("PsEvent", on_ps_event)
        component.send_many_items("alice@localhost", NODE, [(f"n{index}", note(index)) for index in range(BURST)])
        _wait(arrived[BURST], f"{BURST} notified items", backend)
        assert signalled == [f"n{index}" for index in range(BURST)]
        cached = json.loads(client.ps_cache_get(component.service, NODE, 0, [], "", "{}", "alice"))
        assert cached["rsm"]["count"] == BURST + 1
        log = backend.log_text()
        paused = log.find("reading from the server paused")
        assert paused != -1, "the burst never filled the queue: nothing was tested"
        assert log.find("reading from the server resumed", paused) != -1
        # reading again: a notification after the burst arrives too
        component.send_items("alice@localhost", NODE, [("after", note(BURST))])
        _wait(arrived[BURST + 1], "the notification after the burst", backend)
        assert signalled[-1] == "after"
        assert [ET.fromstring(xml).get("id") for xml in json.loads(
            client.ps_cache_get(component.service, NODE, 0, ["after"], "", "{}", "alice"))["items"]] == ["after"]


def _wait(event: threading.Event, what: str, backend: BackendProcess, timeout: float = 120.0) -> None:
    if not event.wait(timeout):
        raise AssertionError(f"{what} did not arrive within {timeout:g} s; backend log:\n{backend.log_text()[-3000:]}")
