"""Microblog edges a new user and a careless caller meet, on a real Prosody 0.12: the
blog of a contact who never published is empty (not an error), and text XML cannot
carry is refused before anything is published."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.integration.test_microblog_pep import BLOG, contacts  # noqa: F401 - fixture

__all__ = ["contacts"]

SERVICE = "pubsub.localhost"
EMPTY = {"items": [], "rsm": {}, "complete": True, "cached": False}


def mb_get(client: BridgeClient, service: str, node: str = "", **extra: Any) -> dict[str, Any]:
    return json.loads(client.mb_get(service, node, 0, [], json.dumps(extra), "alice"))  # type: ignore[no-any-return]


def test_a_blog_never_published_is_empty(contacts: tuple[BridgeClient, SignalRecorder]) -> None:
    """``sat blog get`` of a contact who never published: the node does not exist
    (``item-not-found``), which for a blog means no posts; the low-level reads still say
    the node does not exist."""
    client, _ = contacts
    assert mb_get(client, "bob@localhost") == EMPTY  # a contact's PEP blog
    assert mb_get(client, "") == EMPTY  # our own
    assert mb_get(client, SERVICE, BLOG) == EMPTY  # a pubsub service
    assert mb_get(client, "bob@localhost", use_cache=False) == EMPTY
    for extra in ("{}", '{"use_cache": false}'):
        with pytest.raises(errors.NotFound):
            client.ps_items_get("bob@localhost", BLOG, 0, [], "", extra, "alice")
    with pytest.raises(errors.NotFound):
        client.ps_cache_sync("bob@localhost", BLOG, "alice")


BAD_POSTS = {
    "title": {"title": "bell\x07"},
    "content": {"content": "nul\x00"},
    "content_xhtml": {"content_xhtml": "<p>\ufffe</p>"},
    "tags": {"title": "ok", "tags": ["fine", "esc\x1b"]},
    "id": {"title": "ok", "id": "id\x01"},
    "comments_node": {"title": "ok", "comments_node": "node\x02"},
    "comments": {"title": "ok", "comments": "xmpp:x@y?;node=\x03"},
}


def test_text_xml_cannot_carry_is_refused_before_publishing(contacts: tuple[BridgeClient, SignalRecorder]) -> None:
    client, _ = contacts
    for field, data in BAD_POSTS.items():
        with pytest.raises(errors.InvalidArgument) as raised:
            client.mb_send("", "", json.dumps(data), "alice")
        assert "XML does not allow" in str(raised.value), field
        assert "\x07" not in str(raised.value) and "bell" not in str(raised.value)
    # nothing was published: no blog node was even created
    assert mb_get(client, "") == EMPTY


def test_escaped_characters_in_json_options_never_reach_the_stream(
        contacts: tuple[BridgeClient, SignalRecorder], backend: BackendProcess) -> None:
    """Inside JSON (``\\u0007``), a forbidden character passes any check of the raw
    bridge strings: the plugins check what they put in stanzas. Sent, it would make the
    server close our stream."""
    client, _ = contacts
    bad = {"pubsub#title": "bell\x07"}
    calls = {
        "PsNodeCreate": lambda: client.ps_node_create(SERVICE, "n", json.dumps(bad), "alice"),
        "PsSubscribe": lambda: client.ps_subscribe(SERVICE, "n", json.dumps(bad), "alice"),
        "PsItemSend": lambda: client.ps_item_send(SERVICE, "n", "<x xmlns='urn:x'/>", "",
                                                  json.dumps({"publish_options": bad}), "alice"),
        "PsItemsGet": lambda: client.ps_items_get(SERVICE, "n", 0, [], "", json.dumps({"rsm_after": "\x01"}), "alice"),
    }
    for name, call in calls.items():
        with pytest.raises(errors.InvalidArgument, match="XML does not allow"):
            call()
    assert client.ps_node_create(SERVICE, "n", json.dumps({"pubsub#title": "fine"}), "alice") == "n"
    assert backend.log_text().count("alice: connected as") == 1  # the stream was never closed
