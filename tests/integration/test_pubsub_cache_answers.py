"""Encoded pages kept in memory (``pubsub_cache_answers``), on SQLite and PostgreSQL.

A page read again is served from memory: a change written behind the cache's back does
not show in it (that is how the tests see a page was kept). Every write the cache makes
to a node (notified items, retracts, purge, delete and configuration, a sync, ``no_sync``,
``PsCachePurge``, ``PsCacheReset``, a state change, a profile's deletion, a node created
again under a deleted one's id) makes the next read go to the database: it then shows the
change behind its back too, and agrees with the page read without the kept one. Then the
same through the real backend and Prosody: a peer's publish and retract reach the next
``PsItemsGet``, and a repeated read is served from memory.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest
from sqlalchemy import update

from sat_backend.core.result_set import PageRequest
from sat_backend.memory.pubsub_cache_pages import EncodedPage
from sat_backend.memory.pubsub_cache_storage import NodeChange, PubsubCacheStorage, PurgeFilters
from sat_backend.memory.sqla import Storage
from sat_backend.memory.tables import pubsub_items
from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder, configured_backend
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.test_pubsub import SERVICE, entry, get, texts
from tests.integration.test_pubsub_cache_order import item
from tests.integration.test_storage import run_with_storage
from tests.integration.xmpp_helpers import connected_profile

REQUEST = PageRequest(5)
SNEAKED = "<item id='s019'><p xmlns='urn:example'>written behind the cache</p></item>"


async def sneak(storage: Storage, name: str, data: str) -> None:
    """An item's XML changed without the cache (what no code of the backend does)."""
    async with storage.session() as session:
        await session.execute(update(pubsub_items).where(pubsub_items.c.name == name).values(data=data))


async def agrees_with_the_database(cache: PubsubCacheStorage, node: int) -> EncodedPage:
    """The encoded page, checked against the page read without the kept ones."""
    encoded = await cache.read_encoded_page(node, REQUEST)
    assert encoded is not None
    rows = await cache.read_page(node, REQUEST)
    assert json.loads(encoded.items_json) == [xml for _, xml, _ in rows.rows]
    assert (encoded.start, encoded.end, encoded.count, encoded.edges) == (rows.start, rows.end, rows.count,
                                                                          rows.edges)
    return encoded


Write = Callable[[Storage, PubsubCacheStorage, int], Awaitable[Any]]
WRITES: dict[str, Write] = {
    "notified items": lambda _, cache, node: cache.apply_changes([NodeChange(node, "items", items=(item("n1"),))]),
    "notified retract": lambda _, cache, node: cache.apply_changes([NodeChange(node, "retract", names=("s000",))]),
    "notified purge": lambda _, cache, node: cache.apply_changes([NodeChange(node, "purge")]),
    "notified delete": lambda _, cache, node: cache.apply_changes([NodeChange(node, "delete")]),
    "notified max_items": lambda _, cache, node: cache.apply_changes(
        [NodeChange(node, "config", config={"pubsub#max_items": "3"})]),
    "sync": lambda _, cache, node: cache.replace_items(node, [item(f"r{n}") for n in range(7)]),
    "no_sync": lambda _, cache, node: cache.stop_caching(node),
    "PsCachePurge": lambda _, cache, node: cache.purge(PurgeFilters(nodes=("big",))),
    "PsCacheReset": lambda _, cache, node: cache.reset(),
    "state": lambda _, cache, node: cache.set_state(node, None),
    "sync failed": lambda _, cache, node: cache.set_failed(node, "test"),
    "sync completed": lambda _, cache, node: cache.set_completed(node, None),
    "analysed": lambda _, cache, node: cache.set_analysed(node, None, analyser=None, type=None, subtype=None),
    "profile deleted": lambda storage, cache, node: _delete_profile(storage, cache),
}


async def _delete_profile(storage: Storage, cache: PubsubCacheStorage) -> None:
    await storage.delete_profile("alice")
    cache.profile_deleted("alice")  # the plugin's listener of Profiles' deletions


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_of_the_cache_makes_the_next_read_go_to_the_database(database_url: str, write: str) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        cache = PubsubCacheStorage(storage)
        node = (await cache.ensure_node("alice", SERVICE, "big")).id
        await cache.replace_items(node, [item(f"s{n:03d}") for n in range(20)])
        kept = await agrees_with_the_database(cache, node)
        await sneak(storage, "s019", SNEAKED)
        assert await cache.read_encoded_page(node, REQUEST) is kept  # served from memory
        await WRITES[write](storage, cache, node)
        after = await agrees_with_the_database(cache, node)
        assert after is not kept and after != kept
        assert await cache.read_encoded_page(node, REQUEST) is after  # kept again

    run_with_storage(database_url, scenario)


def test_a_node_created_again_under_a_deleted_ones_id_is_read_from_the_database(database_url: str) -> None:
    """SQLite gives the highest id again once its row is deleted: the kept pages of the
    deleted node (here deleted by a profile's cascade, outside the cache) are not served
    for the new one (PostgreSQL's ids are never given again: the same answer there)."""

    async def scenario(storage: Storage) -> tuple[int, int]:
        await storage.create_profile("alice")
        cache = PubsubCacheStorage(storage)
        node = (await cache.ensure_node("alice", SERVICE, "big")).id
        await cache.replace_items(node, [item(f"s{n:03d}") for n in range(20)])
        await agrees_with_the_database(cache, node)
        await storage.delete_profile("alice")  # no listener called: ensure_node alone must do it
        await storage.create_profile("alice")
        again = (await cache.ensure_node("alice", SERVICE, "big")).id
        page = await agrees_with_the_database(cache, again)
        return again - node if storage.is_sqlite else 0, page.count

    assert run_with_storage(database_url, scenario) == (0, 0)


def test_a_read_overlapped_by_a_write_keeps_no_page(database_url: str) -> None:
    """A read begun before notified items were committed and ended after: its page may
    hold the old rows, so it is not kept, and the next read shows the new item."""

    async def scenario(storage: Storage) -> list[str]:
        await storage.create_profile("alice")
        cache = PubsubCacheStorage(storage)
        node = (await cache.ensure_node("alice", SERVICE, "big")).id
        await cache.replace_items(node, [item(f"s{n:03d}") for n in range(20)])
        reading = asyncio.ensure_future(cache.read_encoded_page(node, REQUEST))
        await asyncio.sleep(0)  # the read has begun (loading the node's order)
        await cache.apply_changes([NodeChange(node, "items", items=(item("new"),))])
        await reading
        page = await agrees_with_the_database(cache, node)
        return page.edges

    assert run_with_storage(database_url, scenario) == ["s016", "new"]


# through the real backend and Prosody, on both databases ---------------------------------------


@pytest.fixture
def backend(backend_env: dict[str, str], tmp_path: Path, database_url: str) -> Iterator[BackendProcess]:
    """The backend storing in ``database_url`` (an SQLite file or a PostgreSQL database)."""
    with configured_backend(backend_env, tmp_path, f"[storage]\ndatabase_url = {database_url}\n") as process:
        yield process


@pytest.fixture
def alice(backend: BackendProcess, prosody: XmppServer) -> Iterator[BridgeClient]:
    with connected_profile(backend, prosody, "alice") as client:  # type: ignore[arg-type]
        yield client


def sneak_into(database_url: str, data: str) -> None:
    """Item ``i3``'s XML changed in the backend's database, behind its back."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as connection:
            connection.execute("UPDATE pubsub_items SET data = ? WHERE name = 'i3'", (data,))
        return

    async def update_row() -> None:
        import asyncpg

        connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.execute("UPDATE pubsub_items SET data = $1 WHERE name = 'i3'", data)
        finally:
            await connection.close()

    asyncio.run(update_row())


def test_a_peers_changes_reach_the_next_read_and_a_repeated_read_is_kept(
        alice: BridgeClient, prosody: XmppServer, database_url: str) -> None:
    node = f"kept-{database_url.split(':', 1)[0]}"  # one Prosody for the session: a node per database
    with connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:  # type: ignore[arg-type]
        carol.create_node(SERVICE, node, {"pubsub#max_items": "max"})
        for index in range(5):
            carol.publish(SERVICE, node, entry(f"post {index}"), f"i{index}")
        alice.ps_cache_sync(SERVICE, node, "alice")
        first = get(alice, node)
        assert first["cached"] is True and texts(first) == [f"post {n}" for n in range(5)]
        sneak_into(database_url, "<item id='i3'>" + entry("behind its back") + "</item>")
        assert get(alice, node) == first  # from memory: the database was not read
        signals = SignalRecorder(alice, "PsEvent")

        def changed_by(change: Callable[[XmppPeer], Any], kind: str) -> list[str]:
            change(carol)
            signals.wait_for("PsEvent", lambda category, service, node_name, event_kind, *rest:
                             node_name == node and event_kind == kind)
            return texts(get(alice, node))

        assert changed_by(lambda peer: peer.publish(SERVICE, node, entry("post 5"), "i5"), "items") == [
            "post 0", "post 1", "post 2", "behind its back", "post 4", "post 5"]
        sneak_into(database_url, "<item id='i3'>" + entry("behind its back again") + "</item>")
        assert changed_by(lambda peer: peer.retract(SERVICE, node, "i0"), "retract") == [
            "post 1", "post 2", "behind its back again", "post 4", "post 5"]
