"""Param values cached in the backend, over the bridge: a write is seen by the very next
read, a deleted profile's values do not come back with a new profile of the same name, and
turning ``Pubsub/UseCache`` off takes effect on the next pubsub read; below them, the
storage's cache of profile ids does not keep the id of a deleted profile."""

from __future__ import annotations

import asyncio
import json

from sat_backend.memory.sqla import Storage
from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer
from tests.integration.xmpp_helpers import create_xmpp_profile

BLOG = "urn:xmpp:microblog:0"
OPTIONS = json.dumps({"host": "127.0.0.1", "port": 5299, "tls": "none", "autoconnect": True})


def test_param_set_is_seen_by_the_next_param_get(backend: BackendProcess) -> None:
    client = backend.client
    assert client is not None
    client.profile_create("alice", "alice@example.org", "", OPTIONS)
    for value in ["fr", "de", ""]:
        client.param_get("General", "Language", "alice")  # read (and cached) before each write
        client.param_set("General", "Language", value, "alice")
        assert client.param_get("General", "Language", "alice") == value
    assert client.param_get("Connection", "Port", "alice") == "5299"
    client.param_set("Connection", "Port", "5222", "")  # through the default profile alias
    assert client.param_get("Connection", "Port", "alice") == "5222"


def test_a_profile_created_again_has_defaults_not_the_deleted_values(backend: BackendProcess) -> None:
    client = backend.client
    assert client is not None
    client.profile_create("alice", "alice@example.org", "pw", OPTIONS)
    client.param_set("General", "Language", "fr", "alice")
    client.param_set("Pubsub", "UseCache", "false", "alice")
    client.param_set("Pubsub", "CacheMaxItems", "7", "alice")
    before = {(entry["category"], entry["name"]): entry for entry in json.loads(client.params_list("alice"))}
    assert before[("Connection", "Host")]["value"] == "127.0.0.1"
    assert before[("Pubsub", "UseCache")]["value"] == "false"
    assert before[("Connection", "Password")]["is_set"] is True
    client.profile_delete("alice")

    client.profile_create("alice", "other@example.org", "", "{}")
    after = json.loads(client.params_list("alice"))
    assert {(entry["category"], entry["name"]) for entry in after} == set(before)
    for entry in after:
        key = (entry["category"], entry["name"])
        if key == ("Connection", "JabberID"):
            assert entry["value"] == "other@example.org"
        elif key == ("Connection", "Password"):
            assert entry["value"] is None and entry["is_set"] is False
        else:
            assert entry["value"] == entry["default"], key
            assert client.param_get(*key, "alice") == entry["default"], key


def test_use_cache_off_makes_the_very_next_read_ask_the_service(
    backend: BackendProcess, prosody: ProsodyServer,
) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, prosody, "bob")
    client.connect("bob")
    try:
        client.mb_send("", "", json.dumps({"title": "param cache", "content": "switch"}), "bob")

        def read() -> dict:  # type: ignore[type-arg]
            return json.loads(client.ps_items_get("", BLOG, 0, [], "", "{}", "bob"))

        read()  # analysed: a blog, synchronised
        client.ps_cache_sync("", BLOG, "bob")
        assert read()["cached"] is True
        assert read()["cached"] is True  # UseCache now read from memory
        client.param_set("Pubsub", "UseCache", "false", "bob")
        from_service = read()
        assert from_service["cached"] is False
        assert "param cache" in "".join(from_service["items"])
        client.param_set("Pubsub", "UseCache", "true", "bob")
        assert read()["cached"] is True
    finally:
        client.disconnect("bob")


def test_a_lookup_during_a_deletion_does_not_keep_the_old_profile_id(database_url: str) -> None:
    """A profile looked up while it is being deleted (its id read before the commit) must
    not leave that id cached: a profile of the same name created next would write its
    params under the old id, a foreign key error, or on SQLite (which gives a freed id
    again) into the profile created in between."""

    async def scenario() -> list[tuple[str | None, str | None]]:
        storage = Storage(database_url)
        await storage.initialise()
        try:
            seen = []
            for round_ in range(20):
                await storage.create_profile("alice")
                await asyncio.gather(storage.delete_profile("alice"), storage.has_profile("alice"))
                await storage.create_profile(f"bob{round_}")
                await storage.create_profile("alice")
                await storage.set_param("General", "Language", f"l{round_}", "alice")
                seen.append((await storage.get_param("General", "Language", "alice"),
                             await storage.get_param("General", "Language", f"bob{round_}")))
                await storage.delete_profile("alice")
            return seen
        finally:
            await storage.close()

    assert asyncio.run(scenario()) == [(f"l{round_}", None) for round_ in range(20)]
