"""``MbGet`` answered from the pubsub cache returns the parsed data the cache stored with
each item (the blog analyser's parser) instead of parsing the XML again: the same posts
as from the service, the parser not called (its log line counts the items parsed), and
data stored by another parser version is not used (the node is synchronised again)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.xmpp_helpers import connected_profile

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

BLOG = "urn:xmpp:microblog:0"
SERVICE = "pubsub.localhost"
ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
PS_ITEMS_KEYS = {"items", "service", "node", "rsm", "complete", "cached"}


@pytest.fixture
def alice(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> Iterator[BridgeClient]:
    with connected_profile(backend, fresh_xmpp_server, "alice") as client:
        yield client


def mb_get(client: BridgeClient, service: str, node: str, **extra: Any) -> dict[str, Any]:
    return json.loads(client.mb_get(service, node, 0, [], json.dumps(extra), "alice"))  # type: ignore[no-any-return]


def by_item_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {post["item_id"]: post for post in answer["items"]}


def parse_log(backend: BackendProcess, since: int, node: str) -> list[str]:
    """The ``MbGet`` log lines of ``node`` written since offset ``since`` of the log."""
    marker = f": MbGet of {node}: "
    return [line.split(marker, 1)[1] for line in backend.log_text()[since:].splitlines() if marker in line]


def publish_posts(client: BridgeClient) -> list[str]:
    return [
        client.mb_send("", "", json.dumps({"title": "Plain", "content": "text", "tags": ["a", "b"]}), "alice"),
        client.mb_send("", "", json.dumps({
            "title": "Rich", "content_xhtml": "<p>Some <strong>bold</strong><script>alert(1)</script>"
                                              "<a href='javascript:evil()' title='t'>link</a><img src='x' onerror='e()'/></p>",
        }), "alice"),
        client.mb_send("", "", json.dumps({"title": "Discuss", "content": "comments", "comments": True}), "alice"),
    ]


def test_cached_posts_are_the_stored_parsed_data_and_the_same_as_parsed_now(
        alice: BridgeClient, backend: BackendProcess) -> None:
    ids = publish_posts(alice)
    assert mb_get(alice, "", "")["cached"] is False  # first read: analysed as a blog, sync started
    alice.ps_cache_sync("", BLOG, "alice")
    signals = SignalRecorder(alice, "PsEvent")
    live = alice.mb_send("", "", json.dumps({"title": "Live", "content_xhtml": "<p>new <em>one</em></p>",
                                             "comments": True}), "alice")
    signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof: kind == "items" and live in data)

    since = len(backend.log_text())
    from_cache = mb_get(alice, "", "")
    from_service = mb_get(alice, "", "", use_cache=False)
    assert (from_cache["cached"], from_service["cached"]) == (True, False)
    cached, fresh = by_item_id(from_cache), by_item_id(from_service)
    assert set(cached) == {*ids, live}
    assert cached == fresh  # whole dicts: comments fields and sanitised XHTML included
    assert "comments_node" in cached[ids[2]] and "comments_node" in cached[live]
    assert "script" not in cached[ids[1]]["content_xhtml"] and "<strong>bold</strong>" in cached[ids[1]]["content_xhtml"]
    # the cache's answer used what was stored at sync and at the notification: nothing parsed
    assert parse_log(backend, since, BLOG) == ["4 item(s), 0 parsed now, the others as the cache stored them",
                                               "4 item(s), 4 parsed now, the others as the cache stored them"]
    # PsItemsGet's JSON is unchanged: raw XML only, no parsed data
    raw = json.loads(alice.ps_items_get("", BLOG, 0, [], "", "{}", "alice"))
    assert raw["cached"] is True and set(raw) == PS_ITEMS_KEYS
    assert all(isinstance(item, str) and item.startswith("<item") for item in raw["items"])


def test_a_node_cached_without_parser_is_parsed_by_mbget(alice: BridgeClient, backend: BackendProcess,
                                                         fresh_xmpp_server: XmppServer) -> None:
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, "notes", {"pubsub#max_items": "max"})
        carol.publish(SERVICE, "notes", f"<entry xmlns='{ATOM}'><title>One</title><id>urn:one</id>"
                      f"<content type='xhtml'><div xmlns='{XHTML}'><p>x<script>y</script></p></div></content>"
                      "</entry>", "one")
        carol.publish(SERVICE, "notes", f"<entry xmlns='{ATOM}'><title>Two</title></entry>", "two")
    alice.ps_cache_sync(SERVICE, "notes", "alice")  # asked by the user: no analyser, no parser
    since = len(backend.log_text())
    from_cache = mb_get(alice, SERVICE, "notes")
    assert from_cache["cached"] is True
    assert by_item_id(from_cache) == by_item_id(mb_get(alice, SERVICE, "notes", use_cache=False))
    assert set(by_item_id(from_cache)) == {"one", "two"}
    assert parse_log(backend, since, "notes")[0] == "2 item(s), 2 parsed now, the others as the cache stored them"


def test_data_of_another_parser_version_is_not_used_and_parsed_again_by_a_sync(
        backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    with connected_profile(backend, fresh_xmpp_server, "alice") as client:
        ids = publish_posts(client)
        mb_get(client, "", "")
        client.ps_cache_sync("", BLOG, "alice")
        expected = by_item_id(mb_get(client, "", "", use_cache=False))
    backend.stop()
    # as a database written before parser versions were recorded (or by another version)
    path = Path(backend.env["XDG_DATA_HOME"]) / "sat" / "sat.db"
    with sqlite3.connect(path) as db:
        changed = db.execute("UPDATE pubsub_nodes SET extra = json_remove(extra, '$.parser_version') "
                             "WHERE name = ? AND json_extract(extra, '$.parser_version') = 1", (BLOG,)).rowcount
    assert changed == 1
    backend.start()
    client = backend.client
    assert client is not None
    progress = SignalRecorder(client, "PsCacheSyncProgress")
    client.connect("alice")
    try:
        since = len(backend.log_text())
        stale = mb_get(client, "", "")
        assert stale["cached"] is True and by_item_id(stale) == expected
        assert parse_log(backend, since, BLOG) == ["3 item(s), 3 parsed now, the others as the cache stored them"]
        assert "was parsed by another parser version: synchronised again" in backend.log_text()[since:]
        progress.wait_for("PsCacheSyncProgress", lambda svc, node, received, total, prof:
                          (node, received, total) == (BLOG, 3, 3))
        since = len(backend.log_text())
        again = mb_get(client, "", "")
        assert again["cached"] is True and set(by_item_id(again)) == set(ids) and by_item_id(again) == expected
        assert parse_log(backend, since, BLOG) == ["3 item(s), 0 parsed now, the others as the cache stored them"]
    finally:
        client.disconnect("alice")
