"""The pubsub cache against Prosody 0.12 (which ignores RSM on items): a big node is cached
completely, then read from the database, kept fresh by notifications (in batches, signals
after the commit), repaired after a reconnection, and readable offline; what Prosody never
sends (configuration notifications…) comes from a pubsub component of our own."""

from __future__ import annotations

import asyncio
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sat_backend.core.received_item import ReceivedItem, stored_item
from sat_backend.memory.pubsub_cache_storage import NodeChange, PubsubCacheStorage
from sat_backend.memory.sqla import Storage
from sat_backend.memory.pubsub_cache_values import SyncState
from sat_backend.plugins.pubsub_cache.reconnect import NEWEST_CHECKED
from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.conftest import LAST_ITEM_RACE, XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.pubsub_component import connected_component
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.test_pubsub import SERVICE, entry, get, texts
from tests.integration.xmpp_helpers import create_xmpp_profile

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd

ITEMS = 1000
ATOM = "http://www.w3.org/2005/Atom"
BLOG = "urn:xmpp:microblog:0"


def cached(client: BridgeClient, node: str, max_items: int = 0, extra: dict | None = None,  # type: ignore[type-arg]
           service: str = SERVICE) -> dict:  # type: ignore[type-arg]
    return json.loads(client.ps_cache_get(service, node, max_items, [], "", json.dumps(extra or {}), "alice"))


def item_ids(result: dict) -> list[str]:  # type: ignore[type-arg]
    """Ids of the ``<item/>`` elements of a PsItemsGet/PsCacheGet answer."""
    return [str(ET.fromstring(xml).get("id")) for xml in result["items"]]


def atom(title: str) -> str:
    return (f"<entry xmlns='{ATOM}'><title>{title}</title><id>{title}</id>"
            "<updated>2026-01-01T00:00:00Z</updated></entry>")


def test_big_node_is_cached_completely_by_its_first_read_and_kept_fresh(
        backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    """1,000 items on Prosody 0.12 (no RSM on items): the first read is answered by the
    service and starts the sync (a blog node: the microblog analyser wants it); the sync
    reports its progress; then every read comes from the database, the server stopped."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    names = [f"b{index:04d}" for index in range(ITEMS)]
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, BLOG, {"pubsub#max_items": "max"})
        carol.publish_many(SERVICE, BLOG, [(name, atom(name)) for name in names])
        progress = SignalRecorder(client, "PsCacheSyncProgress")
        first = get(client, BLOG)
        assert first["cached"] is False and len(first["items"]) == ITEMS
        steps = [progress.wait_for("PsCacheSyncProgress")]
        while steps[-1][2] < steps[-1][3]:
            steps.append(progress.wait_for("PsCacheSyncProgress", timeout=60))
        assert {(service, node, total, profile) for service, node, _, total, profile in steps} == {
            (SERVICE, BLOG, ITEMS, "alice")}
        received = [step[2] for step in steps]
        assert received[0] == 0 and received[-1] == ITEMS and received == sorted(received), received

        # received == total: stored and completed, served from the database
        whole = get(client, BLOG)
        assert whole["cached"] is True and whole["complete"] is True
        assert item_ids(whole) == names
        assert whole["rsm"]["count"] == ITEMS
        assert (whole["rsm"]["first"], whole["rsm"]["last"]) == ("b0000", "b0999")

        signals = SignalRecorder(client, "PsEvent")
        carol.publish(SERVICE, BLOG, atom("fresh"), "fresh")
        event = signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof: kind == "items")
        assert event[0] == "blog" and json.loads(event[4])["items"][0]["parsed"]["title"] == "fresh"
        # the signal comes after the commit: the cache already has the item
        assert item_ids(cached(client, BLOG, 1, service=SERVICE)) == ["fresh"]
        carol.retract(SERVICE, BLOG, "b0000")
        signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof: kind == "retract")

    # the server goes away: reads are answered by the database alone
    fresh_xmpp_server.stop()
    offline = get(client, BLOG)
    assert offline["cached"] is True and offline["complete"] is True
    assert item_ids(offline) == names[1:] + ["fresh"] and offline["rsm"]["count"] == ITEMS
    latest = get(client, BLOG, max_items=3)
    assert item_ids(latest) == ["b0998", "b0999", "fresh"]
    page = get(client, BLOG, extra={"rsm_max": 10, "rsm_after": "b0500"})
    assert item_ids(page) == names[501:511]
    assert page["rsm"]["index"] == 500 and page["rsm"]["first"] == "b0501" and page["complete"] is False


def test_uncached_node_reads_go_to_the_service(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    client.ps_node_create(SERVICE, "plain", json.dumps({"pubsub#max_items": "max"}), "alice")
    client.ps_item_send(SERVICE, "plain", entry("a"), "a", "{}", "alice")
    first = get(client, "plain")
    second = get(client, "plain")
    assert first["cached"] is False and second["cached"] is False  # no analyser wants it
    try:
        client.ps_cache_get(SERVICE, "plain", 0, [], "", "{}", "alice")
    except errors.NotFound as exc:
        assert "not cached" in str(exc)
    else:
        raise AssertionError("an uncached node was served by PsCacheGet")
    client.ps_cache_reset()


def test_a_sync_cut_by_a_restart_is_not_left_in_progress(backend: BackendProcess) -> None:
    """A backend stopped mid-sync must not serve, nor keep, a half node: at start the node
    is reset to "not analysed", so its next read synchronises it again."""
    client = backend.client
    assert client is not None
    client.profile_create("alice", "alice@localhost", "pw", "{}")
    backend.stop()
    url = f"sqlite+aiosqlite:///{Path(backend.env['XDG_DATA_HOME']) / 'sat' / 'sat.db'}"

    async def with_cache(work):  # type: ignore[no-untyped-def]
        storage = Storage(url)
        await storage.initialise()
        try:
            return await work(PubsubCacheStorage(storage))
        finally:
            await storage.close()

    async def cut_sync(cache: PubsubCacheStorage) -> None:
        node = await cache.ensure_node("alice", SERVICE, "half")
        await cache.replace_items(node.id, [stored_item("a", "<item id='a'/>")])
        await cache.set_state(node.id, SyncState.IN_PROGRESS)

    async def state(cache: PubsubCacheStorage) -> object:
        node = await cache.get_node("alice", SERVICE, "half")
        return None if node is None else node.sync_state

    asyncio.run(with_cache(cut_sync))
    client = backend.start()
    assert client.get_version()  # up, plugins initialised
    try:
        client.ps_cache_get(SERVICE, "half", 0, [], "", "{}", "alice")
    except errors.NotFound:
        pass
    else:
        raise AssertionError("a half-synchronised node was served")
    backend.stop()
    assert asyncio.run(with_cache(state)) is None


def test_purge_removes_items_and_never_leaves_a_half_node_served(backend: BackendProcess,
                                                                   fresh_xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    for node in ("keep", "drop"):
        client.ps_node_create(SERVICE, node, json.dumps({"pubsub#max_items": "max"}), "alice")
        for index in range(5):
            client.ps_item_send(SERVICE, node, entry(f"{node} {index}"), f"{node}{index}", "{}", "alice")
        client.ps_cache_sync(SERVICE, node, "alice")
    for bad in ('{"nodes": "drop"}', '{"created_before": "yesterday"}', '{"colour": []}', "[]"):
        try:
            client.ps_cache_purge(bad)
        except errors.InvalidArgument:
            continue
        raise AssertionError(f"PsCachePurge accepted {bad}")
    client.ps_cache_purge(json.dumps({"nodes": ["drop"], "services": [SERVICE]}))
    assert len(cached(client, "keep")["items"]) == 5
    try:
        cached(client, "drop")
    except errors.NotFound:
        pass
    else:
        raise AssertionError("a purged node was still served from the cache")
    # the service still has the items: a read goes there
    again = get(client, "drop")
    assert again["cached"] is False and len(again["items"]) == 5
    client.ps_cache_purge(json.dumps({"created_before": 0}))  # nothing that old
    assert len(cached(client, "keep")["items"]) == 5


def ingest_transactions(log: str, profile: str = "alice") -> list[int]:
    """Sizes (notifications) of the cache's ingest transactions, from the backend log."""
    return [int(match) for match in re.findall(
        rf"{profile}: pubsub cache ingest transaction #\d+: \d+ change\(s\) from (\d+) notification", log)]


def test_a_burst_of_notifications_is_stored_in_few_transactions_then_signalled_in_order(
        backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    burst = [(f"b{index:03d}", entry(f"burst {index}")) for index in range(60)]
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, "burst", {"pubsub#max_items": "max"})
        carol.publish(SERVICE, "burst", entry("first"), "first")
        client.ps_cache_sync(SERVICE, "burst", "alice")
        signals = SignalRecorder(client, "PsEvent")
        log_before = len(backend.log_text())
        carol.publish_many(SERVICE, "burst", burst)
        received: list[str] = []
        for _ in burst:
            event = signals.wait_for("PsEvent", lambda cat, svc, node, kind, data, prof: node == "burst")
            assert event[3] == "items" and event[5] == "alice"
            received.extend(item["id"] for item in json.loads(event[4])["items"])
    assert received == [name for name, _ in burst]
    assert texts(cached(client, "burst")) == ["first"] + [f"burst {index}" for index in range(60)]
    sizes = ingest_transactions(backend.log_text()[log_before:])
    assert sum(sizes) == len(burst)
    assert len(sizes) < len(burst), f"no batching: {sizes}"


def test_changes_of_a_batch_apply_in_order_in_one_transaction(database_url: str) -> None:
    """Storage semantics of a batch, on SQLite and PostgreSQL: a retract after an upsert of
    the same id wins, a purge clears what came before it, a republished id is updated."""

    async def scenario() -> tuple[dict[str, list[tuple[str, str]]], int]:
        storage = Storage(database_url)
        await storage.initialise()
        try:
            await storage.create_profile("alice")
            cache = PubsubCacheStorage(storage)
            one = await cache.ensure_node("alice", SERVICE, "one")
            two = await cache.ensure_node("alice", SERVICE, "two")
            await cache.replace_items(one.id, [stored_item("old", "<item id='old'/>")])
            await cache.apply_changes([
                NodeChange(one.id, "items", items=(stored_item("a", "<item id='a'>1</item>"),
                                                   stored_item("b", "<item id='b'/>"))),
                NodeChange(two.id, "items", items=(stored_item("x", "<item id='x'/>"),)),
                NodeChange(one.id, "retract", names=("a", "old", "unknown")),
                NodeChange(one.id, "items", items=(stored_item("a", "<item id='a'>2</item>"),)),
                NodeChange(two.id, "purge"),
                NodeChange(two.id, "items", items=(stored_item("y", "<item id='y'/>"),)),
                NodeChange(one.id, "items", items=(stored_item("b", "<item id='b'>new</item>"),)),
                NodeChange(one.id, "config", config={"pubsub#max_items": "10"}),
            ])
            contents = {}
            for node in (one, two):
                contents[node.name] = [(row.name, row.data) for row in await cache.get_items(node.id)]
            stored = await cache.get_node("alice", SERVICE, "one")
            assert stored is not None and stored.config == {"pubsub#max_items": "10"}
            return contents, cache.ingest_transactions
        finally:
            await storage.close()

    contents, transactions = asyncio.run(scenario())
    assert contents == {
        "one": [("b", "<item id='b'>new</item>"), ("a", "<item id='a'>2</item>")],
        "two": [("y", "<item id='y'/>")],
    }
    assert transactions == 1


def test_a_change_that_changes_nothing_is_not_written_and_said_so(database_url: str) -> None:
    """The no-op decision, on SQLite and PostgreSQL: an item notified again with the same
    children (another wrapper namespace, attributes in another order) is neither written
    nor reported changed; changed and new items are; a retract of an id not stored
    changes nothing; within a batch each change sees the earlier ones."""
    event_ns, pubsub_ns = "http://jabber.org/protocol/pubsub#event", "http://jabber.org/protocol/pubsub"

    def item(name: str, text: str, ns: str = pubsub_ns, swapped: bool = False) -> ReceivedItem:
        attributes = "xml:lang='en' type='text'" if swapped else 'type="text" xml:lang="en"'
        return stored_item(name, f"<item xmlns='{ns}' id='{name}'><entry xmlns='{ATOM}'>"
                                f"<title {attributes}>{text}</title></entry></item>")

    async def scenario() -> tuple[list[list[bool]], list[list[bool]], dict[str, tuple[str, float]],
                                  dict[str, tuple[str, float]]]:
        storage = Storage(database_url)
        await storage.initialise()
        try:
            await storage.create_profile("alice")
            cache = PubsubCacheStorage(storage)
            node = (await cache.ensure_node("alice", SERVICE, "blog")).id
            await cache.replace_items(node, [item("a", "A"), item("b", "B"),
                                             stored_item("raw", "<item id='raw'>unclosed")])

            async def rows() -> dict[str, tuple[str, float]]:
                return {row.name: (row.data, row.updated) for row in await cache.get_items(node)}

            before = await rows()
            again = await cache.apply_changes([
                NodeChange(node, "items", items=(item("a", "A", event_ns, swapped=True),
                                                 stored_item("raw", "<item id='raw'>unclosed"))),
                NodeChange(node, "retract", names=("unknown",)),
            ])
            untouched = await rows()
            batch = await cache.apply_changes([
                NodeChange(node, "items", items=(item("a", "A", event_ns), item("c", "C", event_ns),
                                                 item("b", "B changed", event_ns),
                                                 stored_item("raw", "<item id='raw'>still unclosed"))),
                NodeChange(node, "items", items=(item("c", "C", event_ns),)),  # the doubled copy
                NodeChange(node, "retract", names=("zzz", "a")),
                NodeChange(node, "items", items=(item("a", "A"),)),  # retracted above: new again
                NodeChange(node, "retract", names=("c", "c")),
                NodeChange(node, "config", config={"pubsub#title": "t"}),
            ])
            return ([o.changed for o in again], [o.changed for o in batch], {"before": before, "after": untouched},
                    await rows())
        finally:
            await storage.close()

    again, batch, first, final = asyncio.run(scenario())
    assert again == [[False, False], [False]]
    assert first["after"] == first["before"]  # not written: same data (pubsub wrapper), same updated
    assert batch == [[False, True, True, True], [False], [False, True], [True], [True, False], []]
    assert sorted(final) == ["a", "b", "raw"]
    assert "B changed" in final["b"][0] and final["raw"][0] == "<item id='raw'>still unclosed"


def test_what_other_services_send_configuration_and_items_without_id_or_unparsable(
        backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    """Our own pubsub component sends what Prosody does not: a configuration notification
    lowering max_items, and in one notification an item without id and one the blog
    parser refuses next to good ones. Nothing aborts the batch; all are signalled."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    with connected_component(fresh_xmpp_server) as component:
        service = component.service
        component.nodes[BLOG] = [("p1", atom("p1"))]
        first = json.loads(client.ps_items_get(service, BLOG, 0, [], "", "{}", "alice"))
        assert first["cached"] is False  # analysed now: a blog, synchronised
        client.ps_cache_sync(service, BLOG, "alice")
        signals = SignalRecorder(client, "PsEvent")
        component.send_items("alice@localhost", BLOG, [
            ("p2", atom("p2")), (None, atom("no id")), ("bad", "<note xmlns='urn:example:other'>x</note>"),
            ("p3", atom("p3")),
        ])
        component.send_configuration("alice@localhost", BLOG, {"pubsub#max_items": "3", "pubsub#title": "Mine"})
        category, _, node, kind, data, _ = signals.wait_for("PsEvent", lambda *args: args[3] == "items")
        assert (category, node) == ("blog", BLOG)
        items = json.loads(data)["items"]
        assert [item["id"] for item in items] == ["p2", "", "bad", "p3"]
        assert [item["id"] for item in items if "parsed" in item] == ["p2", "p3"]
        config_event = signals.wait_for("PsEvent", lambda *args: args[3] == "config")
        assert json.loads(config_event[4]) == {
            "items": [], "retracted": ["p1"], "config": {"pubsub#max_items": "3", "pubsub#title": "Mine"}}
    from_cache = cached(client, BLOG, service=service)
    assert item_ids(from_cache) == ["p2", "bad", "p3"]
    assert "urn:example:other" in from_cache["items"][1]  # the unparsable one, kept raw


def test_notifications_that_change_nothing_in_a_cached_node_are_not_signalled(
        backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    """Of a notification mixing stored and new items, only the new ones are signalled; an
    item notified again as it is stored, or a retract of an id the (complete) node does
    not have, gives no PsEvent. A node not cached has nothing to compare: all signalled."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    with connected_component(fresh_xmpp_server) as component:
        service = component.service
        component.nodes[BLOG] = [("p1", atom("p1"))]
        client.ps_items_get(service, BLOG, 0, [], "", "{}", "alice")
        client.ps_cache_sync(service, BLOG, "alice")
        signals = SignalRecorder(client, "PsEvent")

        def next_event(node: str) -> tuple[str, dict]:  # type: ignore[type-arg]
            _, _, _, kind, data, _ = signals.wait_for("PsEvent", lambda cat, svc, name, *_: name == node)
            return kind, json.loads(data)

        component.send_items("alice@localhost", BLOG, [("p1", atom("p1")), ("p2", atom("p2"))])
        kind, data = next_event(BLOG)
        assert (kind, [item["id"] for item in data["items"]]) == ("items", ["p2"])
        component.send_items("alice@localhost", BLOG, [("p2", atom("p2")), ("p1", atom("p1"))])
        component.send_retracts("alice@localhost", BLOG, ["never-there"])
        component.send_items("alice@localhost", BLOG, [("p1", atom("p1 changed"))])
        kind, data = next_event(BLOG)  # the notifications are handled in order: none came before
        assert (kind, [item["id"] for item in data["items"]]) == ("items", ["p1"])
        component.send_retracts("alice@localhost", BLOG, ["never-there", "p2"])
        assert next_event(BLOG) == ("retract", {"items": [], "retracted": ["p2"]})
        assert item_ids(cached(client, BLOG, service=service)) == ["p1"]

        # a node never read: not cached, every notification signalled
        for _ in range(2):
            component.send_items("alice@localhost", "elsewhere", [("e1", atom("e1"))])
        component.send_retracts("alice@localhost", "elsewhere", ["never-there"])
        assert [next_event("elsewhere")[0] for _ in range(3)] == ["items", "items", "retract"]


@pytest.mark.prosody_only(LAST_ITEM_RACE)
def test_reconnection_repairs_what_was_missed_offline(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    """Offline, the peer publishes 3 items, changes 1, retracts 1 and deletes another node,
    and alice's subscription was lost: on reconnection the cache equals the service again,
    with the PsEvents, and live notifications arrive again."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        for node, count in (("kept", 5), ("gone", 2)):
            carol.create_node(SERVICE, node, {"pubsub#max_items": "max"})
            carol.publish_many(SERVICE, node, [(f"{node}{index}", entry(f"{node} {index}")) for index in range(count)])
            client.ps_cache_sync(SERVICE, node, "alice")
        # cached from a notification (its <item/> in the pubsub#event namespace): not "changed" later
        live = SignalRecorder(client, "PsEvent")
        carol.publish(SERVICE, "kept", entry("notified"), "notified")
        live.wait_for("PsEvent", lambda cat, svc, name, kind, data, prof: name == "kept" and kind == "items")
        client.ps_unsubscribe(SERVICE, "kept", "alice")  # another device did it, say
        client.disconnect("alice")

        carol.publish_many(SERVICE, "kept", [(f"new{index}", entry(f"new {index}")) for index in range(3)])
        carol.publish(SERVICE, "kept", entry("kept 3 changed"), "kept3")
        carol.retract(SERVICE, "kept", "kept1")
        carol.call(lambda xmpp: xmpp.plugin["xep_0060"].delete_node(SERVICE, "gone"))
        signals = SignalRecorder(client, "PsEvent")
        client.connect("alice")

        def on(node: str, kind: str) -> tuple:  # type: ignore[type-arg]
            return signals.wait_for("PsEvent", lambda cat, svc, name, event_kind, data, prof:
                                    (svc, name, event_kind, prof) == (SERVICE, node, kind, "alice"))

        added = json.loads(on("kept", "items")[4])
        assert [item["id"] for item in added["items"]] == ["new0", "new1", "new2", "kept3"]
        assert json.loads(on("kept", "retract")[4])["retracted"] == ["kept1"]
        on("gone", "delete")
        service = {name: payload.findtext("{urn:example:test}text")
                   for name, payload in carol.get_items(SERVICE, "kept")}
        cache = cached(client, "kept")
        assert dict(zip(item_ids(cache), texts(cache))) == service
        assert sorted(service) == ["kept0", "kept2", "kept3", "kept4", "new0", "new1", "new2", "notified"]
        assert service["kept3"] == "kept 3 changed"
        try:
            cached(client, "gone")
        except errors.NotFound:
            pass
        else:
            raise AssertionError("a node deleted while offline is still served from the cache")

        carol.publish(SERVICE, "kept", entry("live"), "live")  # subscribed again: notified
        assert [item["id"] for item in json.loads(on("kept", "items")[4])["items"]] == ["live"]
    assert texts(cached(client, "kept", 1)) == ["live"]


@pytest.mark.prosody_only(LAST_ITEM_RACE)
def test_reconnection_fetches_new_items_older_than_the_newest_compared(
        backend: BackendProcess, fresh_xmpp_server: XmppServer) -> None:
    """More items published offline than the check compares (the newest ones): those
    older than these are fetched by id and stored before them, each part signalled."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    published = [f"n{index}" for index in range(NEWEST_CHECKED + 5)]
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, "many", {"pubsub#max_items": "max"})
        carol.publish(SERVICE, "many", entry("first"), "first")
        client.ps_cache_sync(SERVICE, "many", "alice")
        client.disconnect("alice")
        carol.publish_many(SERVICE, "many", [(name, entry(name)) for name in published])
        signals = SignalRecorder(client, "PsEvent")
        client.connect("alice")
        signalled: list[str] = []
        while len(signalled) < len(published):
            data = signals.wait_for("PsEvent", lambda cat, svc, name, kind, *_: (name, kind) == ("many", "items"))[4]
            signalled += [item["id"] for item in json.loads(data)["items"]]
        on_service = sorted(name for name, _ in carol.get_items(SERVICE, "many"))
    assert sorted(signalled[:5]) == published[:5] and signalled[5:] == published[5:]
    from_cache = item_ids(cached(client, "many"))
    assert from_cache == ["first"] + signalled and sorted(from_cache) == on_service


def _search_service(client: BridgeClient) -> list[str]:
    """Ids of the stored items of SERVICE that PsCacheSearch finds (it covers stored items only)."""
    return [found["pubsub_item_id"] for found in json.loads(client.ps_cache_search(json.dumps({"services": [SERVICE]})))]


def _not_served(client: BridgeClient, node: str) -> bool:
    try:
        cached(client, node)
    except errors.NotFound:
        return True
    return False


def _wait_log(backend: BackendProcess, text: str, seen: int, timeout: float = 15.0) -> None:
    """Until the backend's log has more than ``seen`` lines with ``text`` (bounded poll)."""
    deadline = time.monotonic() + timeout
    while backend.log_text().count(text) <= seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"no new {text!r} in the backend's log within {timeout} s")
        time.sleep(0.05)


@pytest.mark.parametrize("checked_again_by", ["reconnection", "new sync"])
def test_a_node_over_the_limit_drops_its_items(
        backend: BackendProcess, fresh_xmpp_server: XmppServer, checked_again_by: str) -> None:
    """A cached node that now has more items than ``Pubsub/CacheMaxItems`` allows is no
    longer cached once the reconnection check or a new sync sees it: not served, and what
    the earlier sync stored is gone (not left behind for searches, never purged)."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_xmpp_server, "alice")
    client.connect("alice")
    with connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        carol.create_node(SERVICE, "shrunk", {"pubsub#max_items": "max"})
        carol.publish_many(SERVICE, "shrunk", [(f"s{index}", entry(f"shrunk {index}")) for index in range(4)])
        client.ps_cache_sync(SERVICE, "shrunk", "alice")
        assert item_ids(cached(client, "shrunk")) == ["s0", "s1", "s2", "s3"]
        assert sorted(_search_service(client)) == ["s0", "s1", "s2", "s3"]
        client.param_set("Pubsub", "CacheMaxItems", "2", "alice")
        if checked_again_by == "reconnection":
            checked = "cached node(s) checked after connection"
            seen = backend.log_text().count(checked)
            client.disconnect("alice")
            client.connect("alice")
            _wait_log(backend, checked, seen)
        else:
            client.ps_cache_sync(SERVICE, "shrunk", "alice")
    assert _not_served(client, "shrunk")
    assert _search_service(client) == []
    client.disconnect("alice")
