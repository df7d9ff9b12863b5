"""A pubsub item nested thousands of levels deep, from a peer, on a real Prosody 0.12.

Measured: Prosody 0.12 has no depth limit of its own, only its stanza size limit
(256 KiB): it accepts, stores, serves and notifies items 3,000, 10,000 and 30,000 levels
deep (21 KB, 70 KB, 210 KB). So the slixmpp peer publishes the item through the server,
as any peer could (as raw XML: slixmpp's own serialiser recurses too), and our backend
gets it over its real stream, in items answers and in notifications. Twisted parses it
fine (expat, iteratively); what broke was ``domish``'s ``toXml`` (one Python frame per
level): the node could not be read, from the service or the cache, nor synchronised,
nor parsed, and the notifications of the batch holding it were dropped.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from sat_backend.core.xml_payloads import MAX_XML_DEPTH
from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.test_cache_hostile_items import (  # noqa: F401 - alice: fixture
    ATOM, BLOG, GOOD, NS_PUBSUB, SERVICE, alice, items,
)
from tests.integration.xmpp_helpers import connected_profile

#: the depth the fault campaign used (~21 KB): far over Python's recursion limit
LEVELS = 3_000


def deep_entry(levels: int = LEVELS) -> str:
    return (f"<entry xmlns='{ATOM}'><title>deep</title><content type='xhtml'>"
            f"{'<d>' * levels}bottom{'</d>' * levels}</content></entry>")


def post(title: str) -> str:
    return f"<entry xmlns='{ATOM}'><title>{title}</title><id>urn:{title}</id><content>text</content></entry>"


def publish_raw(peer: XmppPeer, item_id: str, payload: str) -> str:
    """Publish ``payload`` as XML text (slixmpp cannot serialise it: its ``tostring``
    recurses); returns the type of the service's answer."""
    return send_raw_iq(peer, f"deep-{item_id}", (
        f"<iq type='set' to='{SERVICE}' id='deep-{item_id}'><pubsub xmlns='{NS_PUBSUB}'>"
        f"<publish node='{BLOG}'><item id='{item_id}'>{payload}</item></publish></pubsub></iq>"))


def send_raw_iq(peer: XmppPeer, iq_id: str, stanza: str) -> str:
    """Send an IQ as text; ``type`` of the answer (with the error condition, if any)."""
    async def go(xmpp: Any) -> str:
        outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_answer(iq: Any) -> None:
            if iq["id"] == iq_id and not outcome.done():
                condition = iq["error"]["condition"] if iq["type"] == "error" else ""
                outcome.set_result(f"{iq['type']} {condition}".strip())

        xmpp.register_handler(Callback(f"answer {iq_id}", MatchXPath("{jabber:client}iq"), on_answer))
        try:
            xmpp.send_raw(stanza)
            return await asyncio.wait_for(outcome, peer.timeout)
        finally:
            xmpp.remove_handler(f"answer {iq_id}")

    return peer.call(go)


def item_id(xml: str) -> str:
    """An item's id from its start tag (lxml refuses to parse the deep one)."""
    match = re.match(r"<item[^>]*\sid=['\"]([^'\"]*)['\"]", xml)
    return match.group(1) if match else ""


def depth_of(xml: str) -> int:
    return xml.count("<d>")


def titles(client: BridgeClient) -> tuple[list[str], bool]:
    result = json.loads(client.mb_get(SERVICE, BLOG, 0, [], "{}", "alice"))
    return [post["title"] for post in result["items"]], result["cached"]


def test_a_deep_item_is_kept_raw_and_the_rest_of_the_node_works(
        alice: BridgeClient, backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, BLOG, {"pubsub#max_items": "max"})
        carol.publish(SERVICE, BLOG, GOOD, "good")  # first item: the node is analysed as a blog
        assert publish_raw(carol, "deep", deep_entry()) == "result"  # Prosody takes it
        carol.publish(SERVICE, BLOG, post("after"), "after")

        # from the service, the cache not involved: every item, the deep one raw
        from_service = items(alice, use_cache=False)
        assert [item_id(xml) for xml in from_service["items"]] == ["good", "deep", "after"]
        assert depth_of(from_service["items"][1]) == LEVELS and "bottom" in from_service["items"][1]

        skipped = backend.log_text().count("skipped a malformed blog item")
        assert titles(alice) == (["Good", "after"], False)  # first read: from the service, parsed now
        assert backend.log_text().count("skipped a malformed blog item") == skipped + 1

        alice.ps_cache_sync(SERVICE, BLOG, "alice")
        cached = items(alice)
        assert cached["cached"] is True and cached["complete"] is True
        assert [item_id(xml) for xml in cached["items"]] == ["good", "deep", "after"]
        assert depth_of(cached["items"][1]) == LEVELS  # stored raw, as it came
        assert titles(alice) == (["Good", "after"], True)

        # live: the deep item and a normal one right after it (one ingest batch, likely)
        signals = SignalRecorder(alice, "PsEvent")
        assert publish_raw(carol, "live-deep", deep_entry()) == "result"
        carol.publish(SERVICE, BLOG, post("live-after"), "live-after")
        events = {}
        for name in ("live-deep", "live-after"):
            event = signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof, name=name:
                                     kind == "items" and [i["id"] for i in json.loads(data)["items"]] == [name])
            (events[name],) = json.loads(event[4])["items"]

        # missed while offline: the reconnection check reads the node and repairs the cache
        alice.disconnect("alice")
        assert publish_raw(carol, "offline-deep", deep_entry()) == "result"
        carol.publish(SERVICE, BLOG, post("offline-after"), "offline-after")
        alice.connect("alice")
        repaired = signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof:
                                    kind == "items" and "offline-after" in data)
        assert [item["id"] for item in json.loads(repaired[4])["items"]] == ["offline-deep", "offline-after"]
    assert depth_of(events["live-deep"]["xml"]) == LEVELS and "parsed" not in events["live-deep"]
    assert events["live-after"]["parsed"]["title"] == "live-after"
    from_cache = json.loads(alice.ps_cache_get(SERVICE, BLOG, 0, [], "", "{}", "alice"))
    assert [item_id(xml) for xml in from_cache["items"]] == [
        "good", "deep", "after", "live-deep", "live-after", "offline-deep", "offline-after"]
    assert titles(alice) == (["Good", "after", "live-after", "offline-after"], True)
    assert "RecursionError" not in backend.log_text()
    assert alice.get_version()


def test_a_deep_request_to_our_resource_is_answered_and_the_session_lives_on(
        backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    """An IQ nobody handles gets tx-xmpp's ``service-unavailable``, which echoes the
    request's children: serialising a deep one raised in the stream's handler, and the
    peer never got an answer."""
    with connected_profile(backend, fresh_prosody, "alice") as client:
        # the resource the server bound for us (the backend logs it at each connection)
        (full_jid,) = re.findall(r"alice: connected as (alice@localhost/\S+)", backend.log_text())
        with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
            request = (f"<iq type='set' to='{full_jid}' id='deep-request'>"
                       f"<query xmlns='urn:example:deep'>{'<d>' * LEVELS}{'</d>' * LEVELS}</query></iq>")
            assert send_raw_iq(carol, "deep-request", request) == "error service-unavailable"
            carol.create_node(SERVICE, "after-deep", {"pubsub#max_items": "max"})
            carol.publish(SERVICE, "after-deep", post("still here"), "one")
        # the same session still works (nothing reconnected)
        result = json.loads(client.ps_items_get(SERVICE, "after-deep", 0, [], "", '{"use_cache": false}', "alice"))
        assert [item_id(xml) for xml in result["items"]] == ["one"]
        log = backend.log_text()
        assert log.count("alice: connected as") == 1 and "alice: reconnecting" not in log
        assert "RecursionError" not in log


def test_the_depth_bound_is_libxml2s(alice: BridgeClient, fresh_prosody: ProsodyServer) -> None:
    """A post exactly at the bound is parsed; one level more is kept raw and skipped."""
    # item > entry > content > d…: the <d> levels that make the item MAX_XML_DEPTH deep
    fitting = MAX_XML_DEPTH - 3
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, BLOG, {"pubsub#max_items": "max"})
        publish_raw(carol, "fits", deep_entry(fitting).replace("<title>deep", "<title>fits"))
        publish_raw(carol, "too-deep", deep_entry(fitting + 1))
    assert titles(alice) == (["fits"], False)
    alice.ps_cache_sync(SERVICE, BLOG, "alice")
    assert titles(alice) == (["fits"], True)
