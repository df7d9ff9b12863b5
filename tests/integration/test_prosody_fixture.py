"""The Prosody fixture and the slixmpp peer, against each other: real server, real TLS."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.fixtures.prosody import (
    TEST_ACCOUNTS,
    ProsodyServer,
    make_certificate_authority,
    prosody_server,
)
from tests.fixtures.xmpp_peer import PeerConnectionError, XmppPeer, connected_peer

pytestmark = pytest.mark.integration

PASSWORDS = dict(TEST_ACCOUNTS)


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    yield from prosody_server(tmp_path_factory.mktemp("prosody"), PASSWORDS)


def connected(server: ProsodyServer, user: str, *, direct_tls: bool = False) -> XmppPeer:
    return connected_peer(server, user, PASSWORDS[user], direct_tls=direct_tls)


@pytest.fixture
def alice(prosody: ProsodyServer) -> Iterator[XmppPeer]:
    peer = connected(prosody, "alice")
    yield peer
    peer.disconnect()


@pytest.fixture
def bob(prosody: ProsodyServer) -> Iterator[XmppPeer]:
    peer = connected(prosody, "bob")
    yield peer
    peer.disconnect()


def test_server_listens_on_its_own_loopback_ports(prosody: ProsodyServer) -> None:
    ports = {prosody.c2s_port, prosody.c2s_direct_tls_port, prosody.component_port}
    assert len(ports) == 3
    assert 5222 not in ports
    config = prosody.config_file.read_text()
    assert 'storage = "sql"' in config
    assert 'interfaces = { "127.0.0.1" }' in config


def test_message_between_two_starttls_peers(alice: XmppPeer, bob: XmppPeer) -> None:
    alice.send_message("bob@localhost", "hello bob")

    message = bob.wait_message(lambda m: m["body"] == "hello bob")

    assert message["from"].bare == "alice@localhost"
    assert message["type"] == "chat"


def test_direct_tls_port_is_verified_with_the_fixture_ca(prosody: ProsodyServer) -> None:
    peer = connected(prosody, "alice", direct_tls=True)
    try:
        assert peer.xmpp.boundjid.bare == "alice@localhost"
    finally:
        peer.disconnect()


@pytest.mark.parametrize("direct_tls", [False, True], ids=["starttls", "direct-tls"])
def test_peer_trusting_another_ca_is_refused(
    prosody: ProsodyServer, tmp_path: Path, direct_tls: bool
) -> None:
    other_ca = make_certificate_authority(tmp_path / "other-ca")
    peer = XmppPeer.for_server(
        prosody, "alice", PASSWORDS["alice"], ca_file=other_ca.cert_file, direct_tls=direct_tls,
        timeout=5.0,
    )
    started = time.monotonic()
    try:
        with pytest.raises(PeerConnectionError) as raised:
            peer.connect()
    finally:
        peer.disconnect()

    assert isinstance(raised.value.reason, ssl.SSLCertVerificationError), raised.value
    assert time.monotonic() - started < 5.0


def test_accounts_and_archive_survive_a_restart(prosody: ProsodyServer) -> None:
    for user in ("carol", "dave"):
        PASSWORDS[user] = f"{user}-secret"
        prosody.register(user, PASSWORDS[user])
    with connected(prosody, "carol") as carol, connected(prosody, "dave") as dave:
        sent_id = carol.send_message("dave@localhost", "archived before restart")
        dave.wait_message(lambda m: m["body"] == "archived before restart")
    ports = (prosody.c2s_port, prosody.c2s_direct_tls_port, prosody.component_port)

    prosody.restart()

    assert (prosody.c2s_port, prosody.c2s_direct_tls_port, prosody.component_port) == ports
    with connected(prosody, "dave") as dave:
        results = dave.mam_query(with_jid="carol@localhost")
    archived = [result["mam_result"]["forwarded"]["stanza"] for result in results]
    assert [(stanza["body"], stanza["id"]) for stanza in archived] == [
        ("archived before restart", sent_id)
    ]
    assert archived[0]["from"].bare == "carol@localhost"


def test_node_keeps_and_returns_fifty_items(alice: XmppPeer, prosody: ProsodyServer) -> None:
    service, node = prosody.pubsub_service, "fixture-test-many-items"
    alice.create_node(service, node, {"pubsub#max_items": "max"})

    published = [
        alice.publish(service, node, f'<entry xmlns="urn:test:fixture"><n>{index}</n></entry>', f"item-{index}")
        for index in range(50)
    ]
    items = alice.get_items(service, node)

    assert sorted(item_id for item_id, _ in items) == sorted(published)
    numbers = sorted(int(payload.findtext("{urn:test:fixture}n") or "-1") for _, payload in items)
    assert numbers == list(range(50))
