"""Notifications that arrive while a node is being synchronised: the sync's snapshot was
taken before them, so they are applied over it before the node is ``completed``; an
item published between the fetch and the end of the sync is neither lost nor doubled. And
syncs cut in their middle (backend stopped, connection lost) are done again, never served
half."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest

from sat_backend.memory.pubsub_cache_values import ITEM_ID_LENGTH
from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.pubsub_component import connected_component
from tests.integration.xmpp_helpers import connected_profile, create_xmpp_profile

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

NODE = "urn:example:notes"
BLOG = "urn:xmpp:microblog:0"


def atom(title: str) -> str:
    return (f"<entry xmlns='http://www.w3.org/2005/Atom'><title>{title}</title><id>{title}</id>"
            "<updated>2026-01-01T00:00:00Z</updated></entry>")


def note(text: str) -> str:
    return f"<note xmlns='urn:example:notes'>{text}</note>"


def test_items_notified_during_a_sync_are_in_the_cache_when_it_completes(
    backend: BackendProcess, fresh_xmpp_server: XmppServer,
) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    with connected_component(fresh_xmpp_server) as component:
        service = component.service
        component.nodes[NODE] = [("n1", note("one")), ("n2", note("two"))]
        # published after the service built the answer the sync gets, notified before it
        component.send_items_before_next_answer("alice@localhost", NODE, [("late", note("late"))])
        signals = SignalRecorder(client, "PsEvent")
        client.ps_cache_sync(service, NODE, "alice")
        signals.wait_for("PsEvent", lambda *args: args[3] == "items" and json.loads(args[4])["items"][0]["id"] == "late")
        cached = json.loads(client.ps_cache_get(service, NODE, 0, [], "", "{}", "alice"))
        assert [ET.fromstring(xml).get("id") for xml in cached["items"]] == ["n1", "n2", "late"]
        assert cached["rsm"]["count"] == 3 and cached["complete"] is True


POSTS = [(f"p{index}", atom(f"post {index}")) for index in range(50)]


@contextmanager
def sync_cut_short(backend: BackendProcess, service: str, progress: SignalRecorder,
                   expected: tuple[type[BaseException], ...]) -> Iterator[None]:
    """A ``PsCacheSync`` of the blog node running in a thread, on a bus connection of its
    own (as a frontend's call would be), entered once the service listed the node (0 of
    50) and waits for items that never come. The block cuts the sync; on leaving, the
    call must have ended with one of the ``expected`` errors."""
    outcome: list[BaseException] = []
    caller = BridgeClient(backend.env["DBUS_SESSION_BUS_ADDRESS"])

    def sync() -> None:
        try:
            caller.ps_cache_sync(service, BLOG, "alice", timeout=60)
        except BaseException as exc:  # noqa: BLE001 - what cut the sync: recorded
            outcome.append(exc)

    syncing = threading.Thread(target=sync, daemon=True)
    syncing.start()
    try:
        progress.wait_for("PsCacheSyncProgress", lambda svc, node, received, total, prof: total == 50)
        yield
        syncing.join(60)
        assert not syncing.is_alive(), "the sync call still waits after it was cut"
    finally:
        caller.close()
    assert len(outcome) == 1, "the sync call returned although it was cut in its middle"
    assert isinstance(outcome[0], expected), outcome


def assert_synchronised_again(client: BridgeClient, service: str,
                              after_first_read: Callable[[], object] = lambda: None) -> None:
    """Not served half; the next read goes to the service and synchronises it completely."""
    with pytest.raises(errors.NotFound):
        client.ps_cache_get(service, BLOG, 0, [], "", "{}", "alice")
    first = json.loads(client.ps_items_get(service, BLOG, 0, [], "", "{}", "alice"))
    assert first["cached"] is False and len(first["items"]) == 50  # analysed again: a blog
    after_first_read()
    client.ps_cache_sync(service, BLOG, "alice")  # waits for the sync that read started
    cached = json.loads(client.ps_cache_get(service, BLOG, 0, [], "", "{}", "alice"))
    assert cached["complete"] is True and cached["rsm"]["count"] == 50


def test_a_backend_stopped_in_the_middle_of_a_sync_synchronises_the_node_again(
    backend: BackendProcess, fresh_xmpp_server: XmppServer,
) -> None:
    """A real sync cut by a restart: the service lists the node, then never answers the
    items request; the backend is stopped there. At start the node is no longer "in
    progress", it is not served half, and its next read synchronises it completely."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    with connected_component(fresh_xmpp_server) as component:
        component.nodes[BLOG] = list(POSTS)
        component.silent_items_nodes.add(BLOG)
        progress = SignalRecorder(client, "PsCacheSyncProgress")
        with sync_cut_short(backend, component.service, progress, (BaseException,)):  # whatever the bus says
            backend.stop()
        client = backend.start()
        client.connect("alice")
        component.silent_items_nodes.clear()
        assert_synchronised_again(client, component.service)
    assert "left mid-sync" in backend.log_text()


def test_a_connection_lost_in_the_middle_of_a_sync_synchronises_the_node_again(
    backend: BackendProcess, fresh_xmpp_server: XmppServer,
) -> None:
    """The stream drops in the middle of a sync while the backend keeps running (Prosody
    stopped while the service holds back its items): the sync call ends with an error,
    the backend connects again once the server is back, the node is not served half, and
    its next read synchronises it completely."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    connected = SignalRecorder(client, "Connected")
    progress = SignalRecorder(client, "PsCacheSyncProgress")
    with connected_component(fresh_xmpp_server) as component:
        service = component.service
        component.nodes[BLOG] = list(POSTS)
        component.silent_items_nodes.add(BLOG)
        with sync_cut_short(backend, service, progress, (errors.Network, errors.ProfileNotConnected, errors.Timeout)):
            fresh_xmpp_server.stop()

    fresh_xmpp_server.start()
    connected.wait_for("Connected", lambda jid, profile: profile == "alice", timeout=90)
    with connected_component(fresh_xmpp_server) as component:   # the silence is gone with the old one
        component.nodes[BLOG] = list(POSTS)
        # the first read starts a sync of its own (an interrupted sync is no error to back off from)
        assert_synchronised_again(client, service, lambda: progress.wait_for(
            "PsCacheSyncProgress", lambda svc, node, received, total, prof: received == total == 50))
    client.disconnect("alice")


def test_a_notification_unreadable_during_a_sync_keeps_the_node_from_being_served(
    backend: BackendProcess, fresh_xmpp_server: XmppServer,
) -> None:
    """A notification of the node the cache cannot read (an item id longer than it
    stores) arrives while the node is being synchronised: the change it makes can never
    be applied over the sync's snapshot, so the sync must not mark the node complete (it
    did: the notification set the node back, then the sync's end marked it ``completed``,
    served without the change). It is synchronised again by its next read."""
    with connected_profile(backend, fresh_xmpp_server, "alice") as client, \
            connected_component(fresh_xmpp_server) as component:
        service = component.service
        component.nodes[NODE] = [("n1", note("one"))]
        component.send_items_before_next_answer("alice@localhost", NODE, [("x" * (ITEM_ID_LENGTH + 1), note("long"))])
        signals = SignalRecorder(client, "PsEvent")
        client.ps_cache_sync(service, NODE, "alice")
        with pytest.raises(errors.NotFound):
            client.ps_cache_get(service, NODE, 0, [], "", "{}", "alice")
        # signalled all the same: frontends miss nothing
        signals.wait_for("PsEvent", lambda *args: args[3] == "items" and "long" in args[4])
        read = json.loads(client.ps_items_get(service, NODE, 0, [], "", "{}", "alice"))
        assert read["cached"] is False and [ET.fromstring(xml).get("id") for xml in read["items"]] == ["n1"]
    assert "could not be read" in backend.log_text()
