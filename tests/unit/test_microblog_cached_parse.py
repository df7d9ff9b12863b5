"""The parsed data the cache stores for a blog item is what ``MbGet`` would parse from its
XML, and ``MbGet`` uses it only when it comes from our parser in its current version."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from sat_backend.memory.pubsub_cache_values import CachedNode
from sat_backend.memory.sqla_mapping import PubsubNode
from sat_backend.plugins.microblog.atom import PARSER_VERSION, parse_entry
from sat_backend.plugins.pubsub_cache.analysers import Analysers
from sat_backend.plugins.pubsub_cache.trigger import _parse_item
from sat_backend.plugins.plugin_xep_0060 import ItemsResult
from sat_backend.plugins.plugin_xep_0277 import ANALYSERS, Microblog, parse_item
from tests.unit.test_microblog_atom import ENTRY

PUBSUB = "http://jabber.org/protocol/pubsub"
ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
ITEMS = [
    ENTRY,  # xhtml title and content to sanitise, author, tags, comments link
    f"<item xmlns='{PUBSUB}' id='c'><entry xmlns='{ATOM}'><title>t</title><content type='text'>plain</content>"
    f"<content type='xhtml'><div xmlns='{XHTML}'><p>x<script>s()</script><a href='javascript:y()'>l</a></p></div>"
    "</content><link rel='replies' title='comments' href='xmpp:alice@localhost?;node=urn%3Axmpp%3Amicroblog%3A0"
    "%3Acomments%2Fc'/><published>yesterday</published></entry></item>",
    f"<item xmlns='{PUBSUB}' id='e'><entry xmlns='{ATOM}'/></item>",
    f"<item xmlns='{PUBSUB}' id='p'><e:entry xmlns:e='{ATOM}'><e:title>prefixed &amp; escaped &lt;b&gt;</e:title>"
    "</e:entry></item>",
]


@pytest.mark.parametrize("xml", ITEMS)
def test_stored_parsed_data_is_what_parse_entry_gives(xml: str) -> None:
    # the ingest path: checked, turned into domish, parsed, stored as JSON, read back
    element = _parse_item(xml)
    assert element is not None
    stored = json.loads(json.dumps(parse_item(element)))
    assert stored == parse_entry(xml)
    assert stored["item_id"]


def node(analyser: str | None, extra: dict[str, Any] | None) -> CachedNode:
    """As storage hands it out: from a row whose ``extra`` holds the parser version."""
    return CachedNode.from_columns(PubsubNode(id=1, service="pubsub.localhost", name="n", analyser=analyser,
                                              extra=extra))


def test_parsed_data_is_current_only_for_the_parser_version_of_the_last_sync() -> None:
    cache = Analysers()
    cache.register("XEP-0277", "blog", node="urn:xmpp:microblog:0", parser=parse_item,
                            parser_version=PARSER_VERSION)
    cache.register("no parser", "x", node="x")
    assert cache.current_parser(node("XEP-0277", {"parser_version": PARSER_VERSION})) == "XEP-0277"
    for stale in (None, {}, {"config": {}}, {"parser_version": PARSER_VERSION - 1}):
        assert cache.current_parser(node("XEP-0277", stale)) is None
        assert cache.stale_parsed(node("XEP-0277", stale))
    for no_parser in (node(None, None), node("no parser", {"parser_version": 0}), node("gone", None)):
        assert cache.current_parser(no_parser) is None and not cache.stale_parsed(no_parser)


class FakePubsub:
    def __init__(self, result: ItemsResult) -> None:
        self.result = result

    async def items_request(self, *args: Any) -> Any:
        return SimpleNamespace(profile="alice", node="n", want_parsed=False)

    async def get_items(self, request: Any) -> ItemsResult:
        return self.result


def mb_get(result: ItemsResult) -> list[dict[str, Any]]:
    blog = Microblog(SimpleNamespace(plugins={"XEP-0060": FakePubsub(result)}))  # type: ignore[arg-type]
    return json.loads(asyncio.run(blog.get("", "", 0, [], "{}", "alice")))["items"]  # type: ignore[no-any-return]


def test_mbget_uses_stored_data_of_its_own_parser_only() -> None:
    marker = {"item_id": "stored", "title": "as stored"}
    xml = ITEMS[1]
    assert mb_get(ItemsResult([xml], "s", "n", parsed=[marker], parser=ANALYSERS[1])) == [marker]
    assert mb_get(ItemsResult([xml], "s", "n", parsed=[marker], parser=ANALYSERS[0])) == [marker]
    for other in (ItemsResult([xml], "s", "n", parsed=[marker], parser="another plugin"),
                  ItemsResult([xml], "s", "n", parsed=[None], parser=ANALYSERS[1]),  # parse failed at ingest
                  ItemsResult([xml], "s", "n", parsed=None, parser=None)):  # a service's answer
        assert mb_get(other) == [parse_entry(xml)]
