"""Microblogging (XEP-0277) through the bridge, cached by the pubsub cache's blog analyser."""

from __future__ import annotations

import json

import pytest

from sat_bridge import errors
from tests.conftest import OWN_CHECKS_ONLY
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.integration.xmpp_helpers import create_xmpp_profile

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd


def test_blog_posts_are_published_parsed_and_cached(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    first = client.mb_send("", "", json.dumps({"title": "Hello", "content": "first post", "tags": ["xmpp", "sat"]}),
                           "alice")
    client.mb_send("", "", json.dumps({
        "title": "Rich", "content_xhtml": "<p>Some <strong>bold</strong><script>alert(1)</script>"
                                          "<a href='javascript:evil()'>link</a></p>",
    }), "alice")
    from_service = json.loads(client.mb_get("", "", 0, [], "{}", "alice"))
    assert from_service["cached"] is False
    assert {post["title"] for post in from_service["items"]} == {"Hello", "Rich"}

    # the first read found the blog analyser: the node is synchronised
    client.ps_cache_sync("", "urn:xmpp:microblog:0", "alice")
    from_cache = json.loads(client.mb_get("", "", 0, [], "{}", "alice"))
    assert from_cache["cached"] is True and from_cache["complete"] is True
    posts = {post["title"]: post for post in from_cache["items"]}
    assert posts["Hello"]["tags"] == ["xmpp", "sat"] and posts["Hello"]["content"] == "first post"
    assert posts["Hello"]["item_id"] == first
    assert posts["Hello"]["author"]["uri"] == "xmpp:alice@localhost"
    xhtml = posts["Rich"]["content_xhtml"]
    assert "<strong>bold</strong>" in xhtml and "script" not in xhtml and "javascript" not in xhtml
    assert posts["Rich"]["content"] == "Some boldlink"

    signals = SignalRecorder(client, "PsEvent")
    third = client.mb_send("", "", json.dumps({"title": "Live", "content": "arrives as a signal"}), "alice")
    category, service, node, kind, data, profile = signals.wait_for("PsEvent")
    assert (category, node, kind, profile) == ("blog", "urn:xmpp:microblog:0", "items", "alice")
    (item,) = json.loads(data)["items"]
    assert item["id"] == third and item["parsed"]["title"] == "Live"
    assert len(json.loads(client.mb_get("", "", 0, [], "{}", "alice"))["items"]) == 3

    client.mb_retract("", "", first, "alice")
    signals.wait_for("PsEvent", lambda cat, svc, nd, kind, data, prof: kind == "retract")
    titles = {post["title"] for post in json.loads(client.mb_get("", "", 0, [], "{}", "alice"))["items"]}
    assert titles == {"Rich", "Live"}


@pytest.mark.prosody_only(OWN_CHECKS_ONLY)
def test_bad_blog_input(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    for data in ('{"nope": 1}', '{"title": 3}', '{"tags": "x"}', "{}", '{"content_xhtml": "<p>unclosed"}', "[]"):
        with pytest.raises(errors.InvalidArgument):
            client.mb_send("", "", data, "alice")
