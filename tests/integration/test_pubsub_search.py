"""``PsCacheSearch`` through the real bus: blog posts published with ``MbSend`` on Prosody,
synchronised by the cache, then found by their words and by their parsed fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer
from tests.integration.xmpp_helpers import create_xmpp_profile

BLOG = "urn:xmpp:microblog:0"
POSTS = (
    {"title": "Holidays in Brittany", "content": "Crêpes and rain, the usual entry of the summer", "tags": ["travel"]},
    {"title": "XMPP search", "content": "Full-text search of cached items", "tags": ["xmpp", "sat"]},
    {"title": "Release notes", "content": "A new release of the backend", "tags": ["sat", "release"]},
)


def search(client: BridgeClient, **query: Any) -> list[dict[str, Any]]:
    return json.loads(client.ps_cache_search(json.dumps(query)))  # type: ignore[no-any-return]


def titles(results: list[dict[str, Any]]) -> list[str]:
    return [result["title"] for result in results]


def blog_with_posts(backend: BackendProcess, prosody: ProsodyServer) -> BridgeClient:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, prosody, "alice")
    client.connect("alice")
    for post in POSTS:
        client.mb_send("", "", json.dumps(post), "alice")
    json.loads(client.mb_get("", "", 0, [], "{}", "alice"))  # first read: the blog analyser picks the node
    client.ps_cache_sync("", BLOG, "alice")
    return client


def test_blog_posts_are_found_by_words_and_parsed_fields(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    client = blog_with_posts(backend, fresh_prosody)
    assert titles(search(client, fts="crepes")) == ["Holidays in Brittany"]
    # "entry" is both an Atom element and a word of one post: only that post matches
    assert titles(search(client, fts="entry")) == ["Holidays in Brittany"]
    assert search(client, fts="content OR category OR author") == []
    assert titles(search(client, fts="releas*")) == ["Release notes"]

    by_tag = search(client, parsed=[{"path": ["tags"], "op": "overlap", "value": ["sat"]}],
                    **{"order-by": [{"path": ["title"]}]})
    assert titles(by_tag) == ["Release notes", "XMPP search"]
    assert titles(search(client, parsed=[{"path": ["tags"], "op": "disjoint", "value": ["sat"]}])) == [
        "Holidays in Brittany"]
    (found,) = search(client, parsed=[{"path": ["title"], "op": "==", "value": "XMPP search"}], with_payload=True)
    assert found["pubsub_node"] == BLOG and found["pubsub_service"] == "alice@localhost"
    assert found["node_profile"] == "alice" and found["tags"] == ["xmpp", "sat"]
    assert found["pubsub_item_id"] == found["item_id"]
    assert found["item_payload"].startswith("<item") and "Full-text search" in found["item_payload"]
    assert "item_payload" not in search(client, fts="crepes")[0]

    combined = search(client, fts="sat OR backend", types=["blog"], profiles=["alice"],
                      parsed=[{"path": ["title"], "op": "ilike", "value": "release%"}])
    assert titles(combined) == ["Release notes"]
    newest = search(client, limit=1, **{"order-by": [{"order": "creation", "direction": "desc"}]})
    assert len(newest) == 1
    assert search(client, services=["nobody@localhost"]) == []
    client.disconnect("alice")


@pytest.mark.parametrize("query", [
    "[]", "not json", '{"colour": 1}', '{"fts": 1}', '{"fts": "-only"}',
    '{"parsed": [{"path": ["title"], "op": "~", "value": "x"}]}',
    '{"parsed": [{"path": ["n"], "op": "between", "value": [1]}]}',
    '{"order-by": [{"order": "rank"}]}', '{"limit": 0}',
])
def test_bad_queries_are_invalid_arguments(backend: BackendProcess, query: str) -> None:
    assert backend.client is not None
    with pytest.raises(errors.InvalidArgument):
        backend.client.ps_cache_search(query)
