"""Service discovery (XEP-0030) and the capabilities cache (XEP-0115) on a real Prosody."""

from __future__ import annotations

import asyncio
import json
import queue
from pathlib import Path
from typing import Any

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from sat_backend.memory.sqla import Storage
from sat_backend.plugins.plugin_xep_0030 import DiscoInfo
from sat_backend.plugins.plugin_xep_0115 import capabilities_hash
from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.xmpp_peer import connected_peer
from tests.integration.xmpp_helpers import create_xmpp_profile


def alice_connected(backend: BackendProcess, prosody: ProsodyServer) -> tuple[BridgeClient, str]:
    """The backend's client with alice's profile connected, and alice's full JID."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, prosody, "alice")
    signals = SignalRecorder(client, "Connected")
    client.connect("alice")
    own_jid: str = signals.wait_for("Connected")[0]
    return client, own_jid


def test_others_discover_what_we_are(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    _, own_jid = alice_connected(backend, fresh_prosody)
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


#: what calls need a peer to see, written out here rather than imported: the check is
#: against the XEPs' namespaces, not against our own constants
CALL_FEATURES = {
    "urn:xmpp:jingle:1",  # XEP-0166
    "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:rtp:audio", "urn:xmpp:jingle:apps:rtp:video",  # XEP-0167
    "urn:xmpp:jingle:transports:ice-udp:1",  # XEP-0176
    "urn:xmpp:jingle:apps:dtls:0",  # XEP-0320
    "urn:xmpp:jingle:apps:grouping:0",  # XEP-0338
    "urn:xmpp:jingle:apps:rtp:ssma:0",  # XEP-0339
    "urn:xmpp:jingle:apps:rtp:rtcp-fb:0",  # XEP-0293
    "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0",  # XEP-0294
    "urn:xmpp:jingle-message:0",  # XEP-0353
}
NS_CAPS = "http://jabber.org/protocol/caps"


def test_calls_are_advertised_and_the_caps_hash_matches(backend: BackendProcess, fresh_prosody: ProsodyServer) -> None:
    """slixmpp (its own XEP-0030 and XEP-0115) sees the call features in our disco#info,
    under our caps node too, and computes the ``ver`` our presence carries from that answer."""
    client, own_jid = alice_connected(backend, fresh_prosody)
    with connected_peer(fresh_prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        presences: queue.Queue[Any] = queue.Queue()
        carol.xmpp.register_handler(Callback("caps", MatchXPath(f"{{jabber:client}}presence/{{{NS_CAPS}}}c"),
                                             presences.put))

        async def with_caps(xmpp: Any) -> None:
            xmpp.register_plugin("xep_0115")

        carol.call(with_caps)
        client.presence_set(carol.jid, "", {}, "alice")  # a directed presence: carol is not subscribed
        presence = presences.get(timeout=15)
        while str(presence["from"]) != own_jid:
            presence = presences.get(timeout=15)
        caps = presence.xml.find(f"{{{NS_CAPS}}}c")
        assert caps.get("hash") == "sha-1"
        node, ver = caps.get("node"), caps.get("ver")

        plain = carol.call(lambda xmpp: xmpp.plugin["xep_0030"].get_info(jid=own_jid))["disco_info"]
        under_node = carol.call(lambda xmpp: xmpp.plugin["xep_0030"].get_info(jid=own_jid, node=f"{node}#{ver}"))
        assert CALL_FEATURES <= set(plain["features"])
        assert set(under_node["disco_info"]["features"]) == set(plain["features"])
        assert carol.xmpp.plugin["xep_0115"].generate_verstring(under_node["disco_info"], "sha-1") == ver
