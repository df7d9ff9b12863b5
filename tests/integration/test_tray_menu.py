"""``sat-tray`` seen by a spec-following StatusNotifierWatcher/host on the private bus:
the item's properties and menu read over D-Bus, a click on "Away" that a slixmpp peer
sees as our presence, and a backend restart after which the menu is right again."""

from __future__ import annotations

import queue
from typing import Iterator

import pytest

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer
from tests.fixtures.sni_host import SniHost
from tests.fixtures.tray import TrayProcess, tray  # noqa: F401 - the fixture
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.archive_helpers import wait_until
from tests.integration.xmpp_helpers import create_xmpp_profile


@pytest.fixture
def host(backend_env: dict[str, str]) -> Iterator[SniHost]:
    with SniHost(backend_env["DBUS_SESSION_BUS_ADDRESS"]) as sni_host:
        yield sni_host


def labels(sni_host: SniHost, item: tuple[str, str]) -> list[str]:
    return [entry.get("label", "-") for entry in sni_host.menu_layout(item) if entry.get("type") != "separator"]


def presence_watch(peer: XmppPeer) -> "queue.Queue[tuple[str, str]]":
    """(bare JID, show) of every presence the peer receives from now on."""
    seen: queue.Queue[tuple[str, str]] = queue.Queue()
    peer.xmpp.add_event_handler(
        "presence", lambda presence: seen.put((presence["from"].bare, presence["show"] or presence["type"])))
    return seen


def wait_presence(seen: "queue.Queue[tuple[str, str]]", jid: str, show: str, timeout: float = 15.0) -> None:
    got = []
    while True:
        try:
            entry = seen.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no presence {show!r} from {jid}; got {got}") from None
        got.append(entry)
        if entry == (jid, show):
            return


def subscribe_carol(client: BridgeClient, carol: XmppPeer) -> None:
    """carol subscribed to alice's presence: slixmpp accepts alice's request and asks back
    by default, and the backend accepts the request of a contact it asked."""
    signals = SignalRecorder(client, "ContactNew")
    client.contact_add("carol@localhost", "alice")
    signals.wait_for("ContactNew", lambda jid, attrs, groups, profile:
                     jid == "carol@localhost" and attrs.get("subscription") == "both", timeout=20)


def test_item_properties_menu_and_away(backend: BackendProcess, fresh_prosody: ProsodyServer, host: SniHost,
                                        tray: TrayProcess) -> None:
    # a Prosody of its own: on the session server alice's bookmarks from the group chat
    # tests enter rooms with unread messages, and the item would rightly say NeedsAttention
    prosody = fresh_prosody
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, prosody, "alice")
    create_xmpp_profile(client, prosody, "bob")
    client.connect("alice")
    with connected_peer(prosody, "carol", XMPP_ACCOUNTS["carol"]) as carol:
        seen = presence_watch(carol)
        subscribe_carol(client, carol)
        tray.start()
        item = host.wait_registered()
        properties = host.properties(item)
        assert properties["Id"] == "sat-tray"
        assert properties["Category"] == "Communications"
        assert properties["Title"] == "SàT"
        assert properties["Menu"] == "/MenuBar"
        assert properties["ItemIsMenu"] is False
        host.wait_property(item, "IconName", lambda name: name == "sat-tray-available")
        assert host.properties(item)["Status"] == "Active"
        icon, _pixmaps, title, description = host.properties(item)["ToolTip"]
        assert (icon, title) == ("sat-tray-available", "SàT") and "alice" in description
        assert labels(host, item) == ["Available", "Away", "Do not disturb", "Offline",
                                      "Disconnect alice", "Connect bob", "Quit"]
        radio = {e["label"]: e["toggle-state"] for e in host.menu_layout(item) if e.get("toggle-type") == "radio"}
        assert radio == {"Available": 1, "Away": 0, "Do not disturb": 0, "Offline": 0}

        host.click(item, "Away")
        wait_presence(seen, "alice@localhost", "away")
        host.wait_property(item, "IconName", lambda name: name == "sat-tray-away")
        radio = {e["label"]: e["toggle-state"] for e in host.menu_layout(item) if e.get("toggle-type") == "radio"}
        assert radio["Away"] == 1 and radio["Available"] == 0
        # "away" connects every profile: bob too
        host.wait_property(item, "ToolTip", lambda tip: "bob" in tip[3])
        assert "Disconnect bob" in labels(host, item)

        host.click(item, "Quit")
        assert tray.wait() == 0


def test_no_watcher_then_one_then_a_restarted_one(backend: BackendProcess, backend_env: dict[str, str],
                                                   tray: TrayProcess) -> None:
    tray.start()
    wait_until(lambda: "backend state loaded" in tray.log_text(), 10, "the tray to start")
    assert "no StatusNotifierWatcher on the session bus" in tray.log_text()
    address = backend_env["DBUS_SESSION_BUS_ADDRESS"]
    with SniHost(address) as first:
        item = first.wait_registered()
        assert first.properties(item)["Id"] == "sat-tray"
    with SniHost(address) as second:   # the panel restarted: a new watcher, registered again
        item = second.wait_registered()
        assert second.properties(item)["IconName"] == "sat-tray-offline"


def test_backend_restart_while_the_tray_runs(backend: BackendProcess, prosody: ProsodyServer, host: SniHost,
                                             tray: TrayProcess) -> None:
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, prosody, "alice")
    client.connect("alice")
    tray.start()
    item = host.wait_registered()
    host.wait_property(item, "IconName", lambda name: name == "sat-tray-available")
    assert "Disconnect alice" in labels(host, item)

    backend.stop()
    host.wait_property(item, "ToolTip", lambda tip: "not running" in tip[3])
    absent = [entry for entry in host.menu_layout(item) if entry.get("label") == "SàT backend not running"]
    assert absent and absent[0]["enabled"] is False
    assert "Disconnect alice" not in labels(host, item)
    client = backend.start()
    # the profile is not connected after the restart: the menu says so
    host.wait_property(item, "ToolTip", lambda tip: "not running" not in tip[3])
    assert host.properties(item)["IconName"] == "sat-tray-offline"
    assert "Connect alice" in labels(host, item)
    assert "SàT backend not running" not in labels(host, item)
    host.click(item, "Connect alice")
    host.wait_property(item, "IconName", lambda name: name == "sat-tray-available")
    assert client.is_connected("alice")
    assert "Disconnect alice" in labels(host, item)
    assert "backend is on the bus" in tray.log_text()
