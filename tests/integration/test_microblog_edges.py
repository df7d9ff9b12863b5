"""Microblog edges a new user and a careless caller meet, on a real Prosody 0.12: the
blog of a contact who never published is empty (not an error)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import SignalRecorder
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
