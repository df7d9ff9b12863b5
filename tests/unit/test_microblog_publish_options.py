"""Publishing a post keeps every post of the blog node (``pubsub#max_items = max``) on both
kinds of service: one that takes it as a publish option (Prosody), and one that refuses the
field as publish option (ejabberd 23: resource-constraint "Unknown field"), where the node is
created with that configuration first. A mismatch (XEP-0060 §7.1.5) publishes as the node is."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from sat_backend.core.exceptions import Stanza
from sat_backend.plugins.plugin_xep_0277 import BLOG_NODE_OPTIONS, NS_MICROBLOG, Microblog

UNKNOWN_FIELD = ("resource-constraint: publishing to 'urn:xmpp:microblog:0' on alice@localhost: "
                 "Unknown field 'pubsub#max_items' of type 'http://jabber.org/protocol/pubsub#publish-options'")


class RecordingPubsub:
    """XEP-0060 stand-in: refuses publishes that carry options with ``refusal`` (if any),
    and node creations with ``create_refusal``; records every call."""

    def __init__(self, refusal: str | None, create_refusal: str | None = None) -> None:
        self.refusal = refusal
        self.create_refusal = create_refusal
        self.calls: list[tuple[str, Any]] = []

    async def item_send(self, service: str, node: str, payload: str, item_id: str, extra_json: str,
                        profile: str) -> str:
        options = json.loads(extra_json).get("publish_options")
        self.calls.append(("publish", options))
        if options and self.refusal:
            raise Stanza(self.refusal)
        return item_id or "generated"

    async def node_create(self, service: str, node: str, options_json: str, profile: str) -> str:
        self.calls.append(("create", (node, json.loads(options_json))))
        if self.create_refusal:
            raise Stanza(self.create_refusal)
        return node


def send(pubsub: RecordingPubsub) -> str:
    host = SimpleNamespace(
        plugins={"XEP-0060": pubsub},
        profiles=SimpleNamespace(resolve=lambda profile: _done(profile)),
        sessions=SimpleNamespace(get_client=lambda profile: SimpleNamespace(jid=SimpleNamespace(
            userhost=lambda: "alice@localhost"))),
    )
    blog = Microblog(host)  # type: ignore[arg-type]
    return asyncio.run(blog.send("", "", json.dumps({"title": "t", "id": "p1"}), "alice"))


async def _done(value: str) -> str:
    return value


def test_options_taken_by_the_service_publish_once() -> None:
    pubsub = RecordingPubsub(refusal=None)
    assert send(pubsub) == "p1"
    assert pubsub.calls == [("publish", BLOG_NODE_OPTIONS)]


@pytest.mark.parametrize("create_refusal", [None, "conflict: creating node: exists"], ids=["new", "existing"])
def test_options_refused_as_unknown_create_the_node_configured_then_publish(create_refusal: str | None) -> None:
    pubsub = RecordingPubsub(refusal=UNKNOWN_FIELD, create_refusal=create_refusal)
    assert send(pubsub) == "p1"
    assert pubsub.calls == [("publish", BLOG_NODE_OPTIONS), ("create", (NS_MICROBLOG, BLOG_NODE_OPTIONS)),
                            ("publish", None)]


def test_a_configuration_mismatch_publishes_without_creating() -> None:
    pubsub = RecordingPubsub(refusal="precondition-not-met: publishing: options do not match")
    assert send(pubsub) == "p1"
    assert pubsub.calls == [("publish", BLOG_NODE_OPTIONS), ("publish", None)]


@pytest.mark.parametrize("refusal, create_refusal", [
    ("forbidden: publishing: not yours", None),
    (UNKNOWN_FIELD, "forbidden: creating node: not allowed"),
])
def test_other_refusals_reach_the_caller(refusal: str, create_refusal: str | None) -> None:
    with pytest.raises(Stanza, match="^forbidden"):
        send(RecordingPubsub(refusal=refusal, create_refusal=create_refusal))
