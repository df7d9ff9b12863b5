"""Hostile and malformed items against the pubsub cache, on a real Prosody 0.12.

What a peer can make reach us is tested through the server (a slixmpp peer publishing raw
XML to a blog node on ``pubsub.localhost`` that alice's cache synchronises); what the
server refuses (DOCTYPE, entities, stanzas over its size limit) is checked to be refused
there, and fed independently to the cache's ingest path (``_cached_item``, the blog
parser) to prove that nothing is expanded, read from a file or fetched from the network.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from lxml import etree

from sat_backend.core.xml_payloads import MAX_PAYLOAD_BYTES
from sat_backend.memory.pubsub_cache_values import ITEM_ID_LENGTH
from sat_backend.plugins.microblog.atom import parse_entry
from sat_backend.plugins.pubsub_cache.analysers import Analyser, Analysers
from sat_backend.plugins.plugin_xep_0277 import parse_item
from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.xmpp_helpers import connected_profile

SERVICE = "pubsub.localhost"
BLOG = "urn:xmpp:microblog:0"
ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
#: Prosody 0.12's default ``c2s_stanza_size_limit`` (mod_c2s: 256 KiB)
PROSODY_C2S_LIMIT = 256 * 1024

GOOD = f"<entry xmlns='{ATOM}'><title>Good</title><id>urn:good</id><content>fine</content></entry>"
HOSTILE = {
    "not-atom": "<note xmlns='urn:example:notes'>not a blog post</note>",
    "atom-not-entry": f"<feed xmlns='{ATOM}'><title>a feed, not an entry</title></feed>",
    "empty-entry": f"<entry xmlns='{ATOM}'/>",
    "bad-dates": f"<entry xmlns='{ATOM}'><title>Dates</title><published>yesterday</published>"
                 "<updated>2024-13-45T99:00:00Z</updated></entry>",
    "script": f"<entry xmlns='{ATOM}'><title>XSS</title><content type='xhtml'><div xmlns='{XHTML}'>"
              "<p onclick='steal()'>hi<script>alert(1)</script><img src='x' onerror='steal()'/>"
              "<a href='javascript:steal()'>link</a><iframe src='https://evil.example/'>framed</iframe>"
              "<style>body{}</style></p></div></content></entry>",
}


def billion_laughs(document: str) -> str:
    """``document`` with ``BODY`` replaced by an entity that would expand to 10⁹ "lol"."""
    levels = "".join(f"<!ENTITY l{i} '{f'&l{i - 1};' * 10}'>" for i in range(1, 10))
    return f"<!DOCTYPE item [<!ENTITY l0 'lol'>{levels}]>{document.replace('BODY', '&l9;')}"


def item_xml(item_id: str, body: str) -> str:
    return f"<item xmlns='{NS_PUBSUB}' id='{item_id}'>{body}</item>"


def raw_publish(item_id: str, inner: str, *, prolog: str = "") -> str:
    """A publish IQ as text, for what slixmpp's element API would refuse to build."""
    return (f"<iq type='set' to='{SERVICE}' id='raw-{item_id}'><pubsub xmlns='{NS_PUBSUB}'>"
            f"<publish node='{BLOG}'>{prolog}<item id='{item_id}'>{inner}</item></publish></pubsub></iq>")


def send_raw_until_closed(peer: XmppPeer, data: str) -> str:
    """Send ``data`` on the peer's stream; returns the stream error condition the server
    closed the stream with (or "closed" without one). Bounded by the peer's timeout."""
    async def go(xmpp: Any) -> str:
        outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_error(error: Any) -> None:
            if not outcome.done():
                outcome.set_result(str(error["condition"]))

        def on_closed(_reason: object) -> None:
            if not outcome.done():
                outcome.set_result("closed")

        xmpp.add_event_handler("stream_error", on_error)
        xmpp.add_event_handler("disconnected", on_closed)
        xmpp.send_raw(data)
        return await asyncio.wait_for(outcome, peer.timeout)

    return peer.call(go)


@pytest.fixture
def alice(backend: BackendProcess, fresh_prosody: ProsodyServer) -> Iterator[BridgeClient]:
    with connected_profile(backend, fresh_prosody, "alice") as client:
        yield client


def items(client: BridgeClient, **extra: Any) -> dict[str, Any]:
    return json.loads(client.ps_items_get(SERVICE, BLOG, 0, [], "", json.dumps(extra), "alice"))  # type: ignore[no-any-return]


def posts(client: BridgeClient) -> dict[str, Any]:
    return json.loads(client.mb_get(SERVICE, BLOG, 0, [], "{}", "alice"))  # type: ignore[no-any-return]


def test_what_a_peer_can_publish_is_kept_raw_parsed_safely_or_skipped(
        alice: BridgeClient, backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, BLOG, {"pubsub#max_items": "max"})
        carol.publish(SERVICE, BLOG, GOOD, "good")  # first item: the node is analysed as a blog
        for item_id, payload in HOSTILE.items():
            carol.publish(SERVICE, BLOG, payload, item_id)
        assert posts(alice)["cached"] is False  # first read: analysed, sync started
        alice.ps_cache_sync(SERVICE, BLOG, "alice")
        # the same, live: notifications go through the same ingest path
        signals = SignalRecorder(alice, "PsEvent")
        carol.publish(SERVICE, BLOG, HOSTILE["not-atom"], "live-not-atom")
        carol.publish(SERVICE, BLOG, HOSTILE["script"], "live-script")
        live = {}
        for item_id in ("live-not-atom", "live-script"):
            event = signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof, item_id=item_id:
                                     kind == "items" and [i["id"] for i in json.loads(data)["items"]] == [item_id])
            assert event[0] == "blog"
            (live[item_id],) = json.loads(event[4])["items"]
    assert "parsed" not in live["live-not-atom"] and "urn:example:notes" in live["live-not-atom"]["xml"]
    assert "alert" not in live["live-script"]["parsed"]["content_xhtml"]

    skipped_before = backend.log_text().count("skipped a malformed blog item")
    from_cache = posts(alice)
    assert from_cache["cached"] is True
    by_id = {post["item_id"]: post for post in from_cache["items"]}
    # what is not an Atom entry is skipped by MbGet, with a log line each
    assert set(by_id) == {"good", "empty-entry", "bad-dates", "script", "live-script"}
    assert backend.log_text().count("skipped a malformed blog item") - skipped_before == 3
    assert by_id["good"]["title"] == "Good" and by_id["good"]["content"] == "fine"
    assert by_id["empty-entry"]["title"] == "" and by_id["empty-entry"]["content"] == ""
    assert by_id["bad-dates"]["published"] == "" and by_id["bad-dates"]["updated"] == ""
    xhtml = by_id["script"]["content_xhtml"]
    for gone in ("script", "alert", "onclick", "onerror", "javascript", "iframe", "evil.example", "style"):
        assert gone not in xhtml
    assert "<p>hi" in xhtml and ">link</a>" in xhtml

    # the raw XML is kept as it arrived, bad items included, for a low-level read
    raw = items(alice)
    assert raw["cached"] is True
    raw_by_id = {etree.fromstring(xml).get("id"): xml for xml in raw["items"]}
    assert set(raw_by_id) == {"good", *HOSTILE, "live-not-atom", "live-script"}
    assert "<script>alert(1)</script>" in raw_by_id["script"] and "<script>alert(1)</script>" in raw_by_id["live-script"]
    assert "urn:example:notes" in raw_by_id["not-atom"]
    assert alice.get_version()  # the daemon is fine


def test_what_prosody_refuses_never_reaches_us(alice: BridgeClient, backend: BackendProcess,
                                               fresh_prosody: ProsodyServer) -> None:
    """XMPP forbids DOCTYPE and entity declarations in a stream (RFC 6120 §11.1): Prosody
    0.12 closes the sender's stream as ``not-well-formed`` (any XML error is reported so),
    and a stanza well over its c2s limit (256 KiB) as ``policy-violation``. Nothing is
    stored, nothing reaches us, and our cache keeps serving the node."""
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, BLOG, {"pubsub#max_items": "max"})
        carol.publish(SERVICE, BLOG, GOOD, "good")
        # under the server's limit, a big post is an ordinary one
        carol.publish(SERVICE, BLOG, f"<entry xmlns='{ATOM}'><title>large</title>"
                                     f"<content>{'y' * 200_000}</content></entry>", "large")
    assert posts(alice)["cached"] is False
    alice.ps_cache_sync(SERVICE, BLOG, "alice")

    attempts = {
        "doctype": raw_publish("doctype", f"<entry xmlns='{ATOM}'><title>&lol;</title></entry>",
                               prolog="<!DOCTYPE entry [<!ENTITY lol 'lol'>]>"),
        "billion-laughs": billion_laughs(raw_publish("laughs", f"<entry xmlns='{ATOM}'><title>BODY</title></entry>")),
        "external-entity": raw_publish("xxe", f"<entry xmlns='{ATOM}'><title>&xxe;</title></entry>",
                                       prolog="<!DOCTYPE e [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>"),
        "undeclared-entity": raw_publish("undeclared", f"<entry xmlns='{ATOM}'><title>&xxe;</title></entry>"),
        "oversized": raw_publish("big", f"<entry xmlns='{ATOM}'><title>big</title>"
                                        f"<content>{'x' * (2 * PROSODY_C2S_LIMIT)}</content></entry>"),
    }
    conditions = {}
    for name, data in attempts.items():
        with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
            conditions[name] = send_raw_until_closed(carol, data)
    assert conditions == {"doctype": "not-well-formed", "billion-laughs": "not-well-formed",
                          "external-entity": "not-well-formed", "undeclared-entity": "not-well-formed",
                          "oversized": "policy-violation"}

    def ids(result: dict[str, Any]) -> list[str]:
        return [str(etree.fromstring(xml).get("id")) for xml in result["items"]]

    served = items(alice)
    assert served["cached"] is True and ids(served) == ["good", "large"]
    from_service = items(alice, use_cache=False)
    assert ids(from_service) == ["good", "large"] and "root:" not in "".join(from_service["items"])
    assert [post["title"] for post in posts(alice)["items"]] == ["Good", "large"]
    assert alice.get_version()


def test_an_item_id_longer_than_the_cache_stores_stops_caching_its_node_with_nothing_lost(
        alice: BridgeClient, fresh_prosody: ProsodyServer) -> None:
    """PostgreSQL refuses an item id longer than ``pubsub_items.name`` (1,024): the batch
    failed, then every sync of the node, which stayed unreadable from the cache. The node
    is not cached any more, on either database: reads go to the service, all items there."""
    long_id = "x" * (ITEM_ID_LENGTH + 1)
    signals = SignalRecorder(alice, "PsEvent")
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, BLOG, {"pubsub#max_items": "max"})
        carol.publish(SERVICE, BLOG, GOOD, "good")
        assert posts(alice)["cached"] is False
        alice.ps_cache_sync(SERVICE, BLOG, "alice")
        assert items(alice)["cached"] is True
        carol.publish(SERVICE, BLOG, GOOD.replace("Good", "Long"), long_id)
        carol.publish(SERVICE, BLOG, GOOD.replace("Good", "After"), "after")
    # notifications are handled in order: once "after" is signalled, the long one was read
    signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof: "after" in data)
    alice.ps_cache_sync(SERVICE, BLOG, "alice")
    served = items(alice)
    assert served["cached"] is False
    assert {etree.fromstring(xml).get("id") for xml in served["items"]} == {"good", long_id, "after"}
    assert [post["title"] for post in posts(alice)["items"]] == ["Good", "Long", "After"]


# what the server refuses, fed to our ingest path directly -------------------------------------

@pytest.fixture
def http_canary() -> Iterator[list[str]]:
    """A loopback HTTP server recording every request: a parser fetching a DTD or an
    external entity would show up here."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY leak 'FETCHED'>")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    requests.append(f"http://127.0.0.1:{server.server_address[1]}")  # [0] is the base URL
    yield requests
    server.shutdown()
    server.server_close()
    thread.join(5)


def blog_cache() -> tuple[Analysers, Analyser]:
    """How the cache reads an item, with the blog analyser's parser (no backend needed:
    ``read_item`` is pure parsing)."""
    analysers = Analysers()
    analysers.register("XEP-0277", "blog", node=BLOG, to_sync=True, parser=parse_item)
    return analysers, analysers["XEP-0277"]


def hostile_documents(secret_file: Path, base_url: str) -> dict[str, str]:
    entry = f"<entry xmlns='{ATOM}'><title>TITLE</title><content>text</content></entry>"
    return {
        "billion-laughs": billion_laughs(item_xml("laughs", entry.replace("TITLE", "BODY"))),
        "local-file": f"<!DOCTYPE item [<!ENTITY xxe SYSTEM 'file://{secret_file}'>]>"
                      + item_xml("file", entry.replace("TITLE", "&xxe;")),
        "network-entity": f"<!DOCTYPE item [<!ENTITY net SYSTEM '{base_url}/entity'>]>"
                          + item_xml("net", entry.replace("TITLE", "&net;")),
        "external-dtd": f"<!DOCTYPE item SYSTEM '{base_url}/evil.dtd'>" + item_xml("dtd", entry.replace("TITLE", "&leak;")),
        "parameter-entity": f"<!DOCTYPE item [<!ENTITY % remote SYSTEM '{base_url}/param.dtd'> %remote;]>"
                            + item_xml("param", entry.replace("TITLE", "&leak;")),
        "no-doctype-keyword-case": f"<!doctype item [<!ENTITY a 'b'>]>" + item_xml("lower", entry),
    }


def test_entities_are_never_expanded_nor_fetched_by_the_ingest_path(tmp_path: Path, http_canary: list[str]) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("TOP-SECRET-CANARY")
    cache, analyser = blog_cache()
    documents = hostile_documents(secret_file, http_canary[0])
    # control: a parser resolving entities does read the file, so the checks below can fail
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True)
    assert b"TOP-SECRET-CANARY" in etree.tostring(etree.fromstring(documents["local-file"].encode(), unsafe))
    for name, document in documents.items():
        cached = cache.read_item(document, analyser)
        assert cached.xml == document, name  # the raw XML is kept as it arrived
        assert cached.parsed is None, name  # refused, not parsed
        assert "TOP-SECRET-CANARY" not in repr(cached) and "FETCHED" not in repr(cached), name
        with pytest.raises((ValueError, etree.XMLSyntaxError)):
            parse_entry(document)
    # not one request (this libxml2 has no HTTP client at all: the check guards other builds)
    assert http_canary[1:] == []


def test_oversized_items_are_kept_raw_unparsed() -> None:
    cache, analyser = blog_cache()
    big = item_xml("huge", f"<entry xmlns='{ATOM}'><title>huge</title><content>{'z' * MAX_PAYLOAD_BYTES}</content></entry>")
    cached = cache.read_item(big, analyser)
    assert cached.xml == big and cached.parsed is None
    assert cached.id == "huge"  # still stored under its id: a sync must find it
    fine = cache.read_item(item_xml("ok", GOOD), analyser)
    assert fine.id == "ok" and fine.parsed is not None and fine.parsed["title"] == "Good"
