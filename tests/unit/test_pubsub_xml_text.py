"""Text XML 1.0 cannot carry is refused by the pubsub and microblog plugins' own API,
before anything is resolved, stored or sent: callers other than the bridge are covered
too. The host here fails the test if it is touched at all."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, Awaitable, Callable

import pytest

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.xml_payloads import check_xml_strings
from sat_backend.plugins.plugin_pubsub_cache import PubsubCache
from sat_backend.plugins.plugin_xep_0060 import Pubsub
from sat_backend.plugins.plugin_xep_0277 import Microblog
from sat_backend.plugins.pubsub_owner import PubsubOwner

from tests.unit.text_refusals import UntouchableHost, refused as refused_with

SECRET = "s3cret-value"


@pytest.fixture
def pubsub() -> Pubsub:
    return Pubsub(UntouchableHost())  # type: ignore[arg-type]


def test_node_and_item_ids(pubsub: Pubsub) -> None:
    refused(lambda: pubsub.node_create("", f"{SECRET}\x07", "{}", "alice"), "node")
    refused(lambda: pubsub.node_delete("", f"{SECRET}\ufffe", "alice"), "node")
    refused(lambda: pubsub.item_send("svc", "n", "<x/>", f"{SECRET}\x01", "{}", "alice"), "item_id")
    refused(lambda: pubsub.item_retract("svc", "n", f"{SECRET}\udc00", True, "alice"), "item_id")
    refused(lambda: pubsub.items_get("svc", "n", 0, ["ok", f"{SECRET}\x02"], "", "{}", "alice"), "item_ids")
    refused(lambda: pubsub.items_get("svc", "n", 0, [], f"{SECRET}\x03", "{}", "alice"), "sub_id")
    refused(lambda: pubsub.items_get("svc", "n", 0, [], "", json.dumps({"rsm_after": f"{SECRET}\x04"}), "alice"),
            "rsm_after")
    refused(lambda: pubsub.items_get("svc", f"{SECRET}\x05", 0, [], "", "{}", "alice"), "node")


def test_payloads(pubsub: Pubsub) -> None:
    """lxml refuses most of these as not well-formed; a lone surrogate could not even be
    encoded for it (``UnicodeEncodeError``: ``Internal``)."""
    for char in ("\ud800", "\x07", "\ufffe"):
        refused(lambda: pubsub.item_send("svc", "n", f"<x>{SECRET}{char}</x>", "id", "{}", "alice"), "payload_xml")


def test_options_and_form_values(pubsub: Pubsub) -> None:
    options = json.dumps({"pubsub#title": f"{SECRET}\x07"})
    refused(lambda: pubsub.node_create("svc", "n", options, "alice"), "options_json")
    refused(lambda: pubsub.subscribe("svc", "n", json.dumps({f"{SECRET}\x08": "1"}), "alice"), "options_json")
    publish = json.dumps({"publish_options": {"pubsub#access_model": ["open", f"{SECRET}\x0b"]}})
    refused(lambda: pubsub.item_send("svc", "n", "<x/>", "id", publish, "alice"), "publish_options")
    owner = PubsubOwner(pubsub)
    refused(lambda: owner.configuration_set("svc", "n", options, "alice"), "options_json")


def test_cache_sync_node(pubsub: Pubsub) -> None:
    """``PsCacheSync`` stores the node and subscribes to it: checked before either."""
    host = SimpleNamespace(config=SimpleNamespace(pubsub_cache=True), plugins={"XEP-0060": pubsub}, storage=None)
    cache = PubsubCache(host)  # type: ignore[arg-type]
    cache.storage = UntouchableHost()  # type: ignore[assignment]
    refused(lambda: cache.cache_sync("svc", f"{SECRET}\x07", "alice"), "node")


@pytest.mark.parametrize("data, what", [
    ({"title": f"{SECRET}\x07"}, "title"),
    ({"content": f"{SECRET}\x00"}, "content"),
    ({"content_xhtml": f"<p>{SECRET}\ufffe</p>"}, "content_xhtml"),
    ({"title": "ok", "tags": ["fine", f"{SECRET}\x1b"]}, "tags"),
    ({"title": "ok", "id": f"{SECRET}\x01"}, "id"),
    ({"title": "ok", "comments_node": f"{SECRET}\x02"}, "comments_node"),
    ({"title": "ok", "comments_service": f"{SECRET}\x02"}, "comments_service"),
    ({"title": "ok", "comments": f"xmpp:x@y?;node={SECRET}\x03"}, "comments"),
    ({"title": "ok", f"{SECRET}\x07": "x"}, "data_json"),
])
def test_microblog_fields(pubsub: Pubsub, data: dict[str, Any], what: str) -> None:
    blog = Microblog(SimpleNamespace(plugins={"XEP-0060": pubsub}))  # type: ignore[arg-type]
    refused(lambda: blog.send("", "", json.dumps(data), "alice"), what)


def test_check_xml_strings_walks_any_json_value() -> None:
    check_xml_strings({"a": ["b", {"c": "tab\tand\nnewline"}], "n": 1, "t": True, "z": None}, "v")
    deep: Any = "\x07"
    for _ in range(5_000):  # nested far beyond the recursion limit: walked with a stack
        deep = [deep]
    with pytest.raises(InvalidArgument, match="U\\+0007"):
        check_xml_strings(deep, "v")


def refused(call: Callable[[], Awaitable[Any]], what: str) -> None:
    refused_with(call, what, SECRET, json_argument_too=True)
