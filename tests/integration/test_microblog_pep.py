"""Blogs between accounts on PEP (XEP-0163/XEP-0277) on a real Prosody 0.12: a contact's
posts reach us because our caps say ``urn:xmpp:microblog:0+notify``, and the contact's
blog is then read from our cache; comments nodes (XEP-0277 §4.1) are created, linked,
cached with the subtype ``comment`` and purged by it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest
from slixmpp.plugins.xep_0030.stanza import DiscoInfo as SlixDiscoInfo

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from sat_backend.plugins.microblog.comments import parse_comments_uri
from sat_backend.plugins.plugin_xep_0115 import OUR_NODE
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.test_cli import sat
from tests.integration.xmpp_helpers import create_xmpp_profile

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

BLOG = "urn:xmpp:microblog:0"
NOTIFY = f"{BLOG}+notify"
ALICE = "alice@localhost"


def is_blog_event(profile: str, service: str, kind: str = "items"):  # type: ignore[no-untyped-def]
    return lambda cat, svc, node, event_type, data, prof: (prof, svc, node, event_type) == (profile, service, BLOG, kind)


@pytest.fixture
def contacts(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> Iterator[tuple[BridgeClient, SignalRecorder]]:
    """alice and bob, SàT profiles on one backend, with a mutual presence subscription."""
    client = backend.client
    assert client is not None
    signals = SignalRecorder(client, "Connected", "ContactNew", "ContactSubscriptionRequest", "PsEvent",
                             "PresenceUpdate")
    for user in ("alice", "bob"):
        create_xmpp_profile(client, fresh_xmpp_server, user)
        client.connect(user)
        signals.wait_for("Connected", lambda jid, profile, user=user: profile == user)
    client.contact_add("bob@localhost", "alice")
    signals.wait_for("ContactSubscriptionRequest", lambda jid, profile: profile == "bob")
    client.contact_subscription_answer(ALICE, True, "bob")
    for profile, contact in (("alice", "bob@localhost"), ("bob", ALICE)):
        signals.wait_for("ContactNew", lambda jid, attrs, groups, prof, profile=profile, contact=contact:
                         (jid, prof, attrs.get("subscription")) == (contact, profile, "both"), timeout=20)
    # alice's PEP service (ejabberd's at least) sends bob notifications only once it has his
    # presence from a time he was subscribed to hers: the server's copy when he approved
    # her request came before that, so the backend sends his presence to her again when she
    # approves his (doc/developer.rst, "Two XMPP servers"). Both must have reached her
    # before anyone publishes: the server's, then bob's own
    for _ in range(2):
        signals.wait_for("PresenceUpdate", lambda entity, show, priority, statuses, profile:
                         entity.startswith("bob@localhost/") and profile == "alice")
    yield client, signals
    assert backend.client is not None
    for user in ("alice", "bob"):
        backend.client.disconnect(user)


def mb_get(client: BridgeClient, service: str, node: str, profile: str) -> dict[str, Any]:
    return json.loads(client.mb_get(service, node, 0, [], "{}", profile))  # type: ignore[no-any-return]


def node_row(backend: BackendProcess, profile: str, service: str, node: str) -> tuple[Any, ...] | None:
    """(type, subtype, sync_state) of a cached node, read from the backend's SQLite file
    (read-only; the backend keeps running: WAL lets readers in)."""
    path = Path(backend.env["XDG_DATA_HOME"]) / "sat" / "sat.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(  # type: ignore[no-any-return]
            "SELECT n.type, n.subtype, n.sync_state FROM pubsub_nodes n JOIN profiles p ON p.id = n.profile_id "
            "WHERE p.name = ? AND n.service = ? AND n.name = ?", (profile, service, node)).fetchone()


def test_a_contacts_posts_reach_us_and_their_blog_is_cached(
        contacts: tuple[BridgeClient, SignalRecorder], fresh_xmpp_server: XmppServer) -> None:
    client, signals = contacts
    # Prosody sends alice's posts to bob only because his caps say +notify: the post, or
    # if his caps are learnt after it, the last item (send_last_published_item =
    # on_sub_and_presence); without the feature, no event at all
    first = client.mb_send("", "", json.dumps({"title": "Before", "content": "already there"}), "alice")
    signals.wait_for("PsEvent", is_blog_event("bob", ALICE), timeout=20)

    from_service = mb_get(client, ALICE, "", "bob")
    assert from_service["cached"] is False and [post["item_id"] for post in from_service["items"]] == [first]
    client.ps_cache_sync(ALICE, BLOG, "bob")  # joins the sync the first read started
    assert mb_get(client, ALICE, "", "bob")["cached"] is True

    second = client.mb_send("", "", json.dumps({"title": "Live", "content": "new", "tags": ["pep"]}), "alice")
    category, service, node, kind, data, _ = signals.wait_for(
        "PsEvent", lambda cat, svc, nd, kind, data, prof: prof == "bob" and kind == "items" and second in data)
    assert (category, service, node) == ("blog", ALICE, BLOG)
    (item,) = json.loads(data)["items"]
    assert item["id"] == second and item["parsed"]["title"] == "Live" and item["parsed"]["tags"] == ["pep"]
    assert item["parsed"]["author"]["uri"] == f"xmpp:{ALICE}"
    # the signal follows the commit: bob's next read is from the cache and has the post
    from_cache = mb_get(client, ALICE, "", "bob")
    assert from_cache["cached"] is True and from_cache["complete"] is True
    assert [post["title"] for post in from_cache["items"]] == ["Before", "Live"]

    # Prosody sent "Live" twice (bare JID: the cache's subscription; full JID: +notify),
    # both before it answered alice's publish: had the second copy been signalled, it
    # would come before any PsEvent of the next post
    third = client.mb_send("", "", json.dumps({"title": "Next", "content": "once"}), "alice")
    _, _, _, _, data, _ = signals.wait_for(
        "PsEvent", lambda cat, svc, nd, kind, data, prof: is_blog_event("bob", ALICE)(cat, svc, nd, kind, data, prof)
        and bool({item["id"] for item in json.loads(data)["items"]} & {second, third}))
    assert [item["id"] for item in json.loads(data)["items"]] == [third]
    assert [post["title"] for post in mb_get(client, ALICE, "", "bob")["items"]] == ["Before", "Live", "Next"]

    # a retract comes twice as well: the second copy names an id the cache no longer has
    client.mb_retract("", "", second, "alice")
    _, _, _, _, data, _ = signals.wait_for("PsEvent", is_blog_event("bob", ALICE, "retract"))
    assert json.loads(data)["retracted"] == [second]
    fourth = client.mb_send("", "", json.dumps({"title": "Last", "content": "once too"}), "alice")
    _, _, _, kind, data, _ = signals.wait_for(
        "PsEvent", lambda cat, svc, nd, kind, data, prof: (prof, svc, nd) == ("bob", ALICE, BLOG)
        and (kind == "retract" or fourth in data))
    assert (kind, [item["id"] for item in json.loads(data)["items"]]) == ("items", [fourth])


def test_our_caps_list_microblog_notify(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    """The ``ver`` in the presence we send (XEP-0115) is the hash of a disco#info answer
    listing +notify: checked by an independent client, hash computed here."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "bob")
    signals = SignalRecorder(client, "Connected", "ContactSubscriptionRequest")
    client.connect("bob")
    (own_jid, _) = signals.wait_for("Connected")
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        caps = carol.call(lambda xmpp: _first_caps_from(xmpp, own_jid, lambda: xmpp.send_presence_subscription(
            pto="bob@localhost"), lambda: (signals.wait_for("ContactSubscriptionRequest"),
                                            client.contact_subscription_answer("carol@localhost", True, "bob"))),
            timeout=30)
        assert (caps.get("hash"), caps.get("node")) == ("sha-1", OUR_NODE)
        at_node = carol.call(lambda xmpp: xmpp.plugin["xep_0030"].get_info(jid=own_jid, node=f"{OUR_NODE}#{caps['ver']}"))
        info = at_node["disco_info"]
        assert NOTIFY in info["features"]
        assert _verstring(info) == caps["ver"]
        plain = carol.call(lambda xmpp: xmpp.plugin["xep_0030"].get_info(jid=own_jid))["disco_info"]
        assert NOTIFY in plain["features"]


async def _first_caps_from(xmpp: Any, sender: str, request: Any, answer: Any) -> dict[str, str]:
    """Attributes of the ``<c/>`` in the first presence of ``sender`` carol receives after
    ``request()``; ``answer()`` (blocking: the backend's side) runs in a thread meanwhile."""
    import asyncio

    received: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    def on_presence(presence: Any) -> None:
        element = presence.xml.find("{http://jabber.org/protocol/caps}c")
        if str(presence["from"]) == sender and element is not None and not received.done():
            received.set_result(dict(element.attrib))

    xmpp.add_event_handler("presence_available", on_presence)
    try:
        request()
        await asyncio.to_thread(answer)
        return await asyncio.wait_for(received, 20)
    finally:
        xmpp.del_event_handler("presence_available", on_presence)


def _verstring(info: SlixDiscoInfo) -> str:
    """XEP-0115 §5.1 without data forms, written here independently of the backend."""
    import base64
    import hashlib

    text = "".join(f"{c}/{t}/{lang or ''}/{name or ''}<" for c, t, lang, name in sorted(
        info["identities"], key=lambda i: (i[0], i[1], i[2] or "", i[3] or "")))
    text += "".join(f"{feature}<" for feature in sorted(info["features"]))
    return base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()


@pytest.mark.prosody_only("ejabberd lets only its owner publish to a PEP node: a contact's comment "
                         "there is forbidden (comments on a pubsub service work on both)")
def test_comments_node_is_created_linked_cached_and_purged_by_subtype(
        contacts: tuple[BridgeClient, SignalRecorder], backend: BackendProcess) -> None:
    client, signals = contacts
    post_id = client.mb_send("", "", json.dumps({"title": "Discuss", "content": "comments welcome",
                                                 "comments": True}), "alice")
    (post,) = mb_get(client, "", "", "alice")["items"]
    assert post["item_id"] == post_id
    comments_node = f"{BLOG}:comments/{post_id}"
    assert (post["comments_service"], post["comments_node"]) == (ALICE, comments_node)
    assert parse_comments_uri(post["comments"]) == (ALICE, comments_node)
    assert post["comments"].startswith(f"xmpp:{ALICE}?;node=urn%3Axmpp%3Amicroblog%3A0%3Acomments%2F")

    # bob comments on alice's PEP comments node (open to publishers) and reads it back
    assert mb_get(client, ALICE, comments_node, "bob")["items"] == []  # empty, but known as comments
    client.ps_cache_sync(ALICE, comments_node, "bob")
    comment_id = client.mb_send(ALICE, comments_node, json.dumps({"content": "I agree"}), "bob")
    signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof:
                     (prof, node, kind, cat) == ("bob", comments_node, "items", "blog") and comment_id in data)
    comments = mb_get(client, ALICE, comments_node, "bob")
    assert comments["cached"] is True
    (comment,) = comments["items"]
    assert comment["item_id"] == comment_id and comment["content"] == "I agree"
    assert comment["author"]["uri"] == "xmpp:bob@localhost"
    assert node_row(backend, "bob", ALICE, comments_node) == ("blog", "comment", "completed")

    # the blog itself, cached too, is a blog without subtype
    mb_get(client, ALICE, "", "bob")
    client.ps_cache_sync(ALICE, BLOG, "bob")
    assert node_row(backend, "bob", ALICE, BLOG) == ("blog", None, "completed")

    with pytest.raises(errors.InvalidArgument):
        client.ps_cache_purge(json.dumps({"subtypes": "comment"}))
    client.ps_cache_purge(json.dumps({"subtypes": ["comment"]}))
    with pytest.raises(errors.NotFound):
        client.ps_cache_get(ALICE, comments_node, 0, [], "", "{}", "bob")
    blog = json.loads(client.ps_cache_get(ALICE, BLOG, 0, [], "", "{}", "bob"))
    assert len(blog["items"]) == 1 and blog["cached"] is True
    # the comment is still on the service: read from there, then cached again
    again = mb_get(client, ALICE, comments_node, "bob")
    assert [item["item_id"] for item in again["items"]] == [comment_id]


def test_comments_on_a_pubsub_service_and_bad_input(contacts: tuple[BridgeClient, SignalRecorder],
                                                    backend: BackendProcess) -> None:
    client, signals = contacts
    for data in ({"title": "t", "comments": 1}, {"title": "t", "comments_service": "not a jid@@"},
                 {"title": "t", "comments_node": 3}, {"title": "t", "comments": "xmpp:x?;node=y", "comments_node": "z"},
                 {"title": "t", "id": 5}):
        with pytest.raises(errors.InvalidArgument):
            client.mb_send("", "", json.dumps(data), "alice")
    # on a pubsub service given, with an explicit node name
    post_id = client.mb_send("", "", json.dumps({"title": "Elsewhere", "comments_service": "pubsub.localhost",
                                                 "comments_node": "my-comments"}), "alice")
    post = next(post for post in mb_get(client, "", "", "alice")["items"] if post["item_id"] == post_id)
    assert (post["comments_service"], post["comments_node"]) == ("pubsub.localhost", "my-comments")
    assert mb_get(client, "pubsub.localhost", "my-comments", "alice")["items"] == []
    # on a pubsub service given, named after the post: cached as comments
    post_id = client.mb_send("", "", json.dumps({"title": "Hosted", "comments_service": "pubsub.localhost"}), "alice")
    node = f"{BLOG}:comments/{post_id}"
    assert mb_get(client, "pubsub.localhost", node, "bob")["items"] == []
    client.ps_cache_sync("pubsub.localhost", node, "bob")
    comment_id = client.mb_send("pubsub.localhost", node, json.dumps({"content": "hosted reply"}), "bob")
    signals.wait_for("PsEvent", lambda cat, svc, nd, kind, data, prof:
                     (prof, svc, nd, kind) == ("bob", "pubsub.localhost", node, "items") and comment_id in data)
    assert [c["content"] for c in mb_get(client, "pubsub.localhost", node, "bob")["items"]] == ["hosted reply"]
    assert node_row(backend, "bob", "pubsub.localhost", node) == ("blog", "comment", "completed")


def test_comments_from_the_command_line(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    assert backend.client is not None
    create_xmpp_profile(backend.client, fresh_xmpp_server, "alice")
    assert sat(backend, "connect", "-p", "alice").returncode == 0
    posted = sat(backend, "blog", "set", "-t", "Talk", "--comments", "about", "this", "-p", "alice")
    assert posted.returncode == 0, posted.stderr
    post_id = posted.stdout.strip()
    listed = sat(backend, "blog", "get", "-p", "alice").stdout
    assert f"comments: -s {ALICE} -n {BLOG}:comments/{post_id}" in listed
    reply = sat(backend, "blog", "set", "-s", ALICE, "-n", f"{BLOG}:comments/{post_id}", "a", "reply", "-p", "alice")
    assert reply.returncode == 0, reply.stderr
    assert "a reply" in sat(backend, "blog", "get", "-s", ALICE, "-n", f"{BLOG}:comments/{post_id}", "-p", "alice").stdout
