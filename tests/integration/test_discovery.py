"""Service discovery (XEP-0030) and the capabilities cache (XEP-0115) on a real Prosody."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from slixmpp.exceptions import IqError

from sat_backend.memory.sqla import Storage
from sat_backend.plugins.plugin_xep_0030 import DiscoInfo
from sat_backend.plugins.plugin_xep_0115 import capabilities_hash
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.xmpp_helpers import create_xmpp_profile


def test_others_discover_what_we_are(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, fresh_prosody, "alice")
    signals = SignalRecorder(client, "Connected")
    client.connect("alice")
    (own_jid, _) = signals.wait_for("Connected")
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        info = carol.call(lambda xmpp: xmpp.plugin["xep_0030"].get_info(jid=own_jid))
        query = info["disco_info"]
        assert ("client", "pc", None, "SàT") in query["identities"]
        assert {"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/caps"} <= set(query["features"])
        with pytest.raises(IqError) as refused:
            carol.call(lambda xmpp: xmpp.plugin["xep_0030"].get_info(jid=own_jid, node="nope"))
    assert refused.value.condition == "item-not-found"


def test_capabilities_are_learnt_once_and_kept(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    client = backend.client
    assert client is not None
    for user in ("alice", "bob"):
        create_xmpp_profile(client, fresh_prosody, user)
        client.connect(user)
    signals = SignalRecorder(client, "ContactSubscriptionRequest", "PresenceUpdate")
    client.contact_add("alice@localhost", "bob")
    signals.wait_for("ContactSubscriptionRequest", lambda jid, profile: profile == "alice")
    client.contact_subscription_answer("bob@localhost", True, "alice")
    alice_presence = signals.wait_for(
        "PresenceUpdate", lambda entity, show, prio, st, profile: profile == "bob" and entity.startswith("alice@localhost/") and show != "unavailable"
    )
    infos = json.loads(client.disco_infos(alice_presence[0], "", "bob"))
    assert "http://jabber.org/protocol/caps" in infos["features"]
    ver = capabilities_hash(DiscoInfo.from_json(infos))
    backend.stop()

    async def cached() -> object:
        data_dir = Path(backend.env["XDG_DATA_HOME"]) / "sat"
        storage = Storage(f"sqlite+aiosqlite:///{data_dir / 'sat.db'}")
        await storage.initialise()
        try:
            return await storage.get_private("XEP-0115", ver)
        finally:
            await storage.close()

    assert asyncio.run(cached()) == infos
