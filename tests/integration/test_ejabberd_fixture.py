"""The ejabberd fixture and the slixmpp peer, against each other: real server, real TLS
(a wrong CA refused: test_xmpp_session.py, which runs on ejabberd too).

Uses the session server (``ejabberd`` in ``tests/conftest.py``), as the suites do: one boot
for the whole run, accounts reset through the HTTP API.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import XMPP_ACCOUNTS, running_ejabberd
from tests.fixtures.ejabberd import EjabberdError, EjabberdServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer

pytestmark = [pytest.mark.integration, pytest.mark.ejabberd]


def connected(server: EjabberdServer, user: str, *, direct_tls: bool = False) -> XmppPeer:
    return connected_peer(server, user, XMPP_ACCOUNTS[user], direct_tls=direct_tls)  # type: ignore[arg-type]


@pytest.fixture
def server(ejabberd: EjabberdServer, request: pytest.FixtureRequest) -> EjabberdServer:
    """The session ejabberd (running) with its accounts emptied; asked by name, so that
    choosing Prosody alone deselects these tests."""
    running = running_ejabberd(request)
    running.reset_accounts(XMPP_ACCOUNTS)
    return running


def test_server_listens_on_its_own_loopback_ports(server: EjabberdServer) -> None:
    ports = {server.c2s_port, server.c2s_direct_tls_port, server.component_port, server.http_port}
    assert len(ports) == 4
    assert not ports & {5222, 5223, 5269, 5280, 5443}
    config = server.config_file.read_text()
    assert "ejabberd_s2s_in" not in config
    assert config.count('ip: "127.0.0.1"') == 4
    assert server.api("status")  # the VM runs without a node name: no epmd, no cookie
    assert "in the node nonode@nohost" in server.log_text()


def test_direct_tls_port_is_verified_with_the_fixture_ca(server: EjabberdServer) -> None:
    with connected(server, "alice", direct_tls=True) as peer:
        assert peer.xmpp.boundjid.bare == "alice@localhost"


def test_reset_accounts_empties_archive_and_keeps_passwords(server: EjabberdServer) -> None:
    with connected(server, "carol") as carol, connected(server, "dave") as dave:
        carol.send_message("dave@localhost", "before the reset")
        dave.wait_message(lambda m: m["body"] == "before the reset")
        assert dave.mam_query(with_jid="carol@localhost")

    server.reset_accounts(XMPP_ACCOUNTS)

    with connected(server, "dave") as dave:
        assert dave.mam_query(with_jid="carol@localhost") == []


def test_api_error_is_raised(server: EjabberdServer) -> None:
    with pytest.raises(EjabberdError):
        server.api("register", user="alice", host=server.domain, password="taken already")


def test_restart_keeps_ports_and_accounts(server: EjabberdServer) -> None:
    """What restart() promises the suites (the archive surviving it is proven by
    test_archive_and_carbons.py on ejabberd; a 1,000-item node by test_pubsub_cache.py)."""
    server.unregister("dave")
    server.register("dave", "a password of the API")
    ports = (server.c2s_port, server.c2s_direct_tls_port, server.component_port, server.http_port)

    server.restart()

    assert (server.c2s_port, server.c2s_direct_tls_port, server.component_port, server.http_port) == ports
    with connected_peer(server, "dave", "a password of the API") as dave:  # type: ignore[arg-type]
        assert dave.xmpp.boundjid.bare == "dave@localhost"


@pytest.mark.parametrize("choice, kept, dropped", [
    ("prosody", {"prosody"}, {"ejabberd"}),
    ("ejabberd", {"ejabberd"}, {"prosody"}),
    ("prosody,ejabberd", {"prosody", "ejabberd"}, set()),
])
def test_server_choice_deselects_and_never_skips(choice: str, kept: set[str], dropped: set[str]) -> None:
    """``SAT_TEST_SERVERS`` picks the servers; the others' tests are deselected (a skip
    would fail the run), the Prosody-only ones (fresh_prosody) included."""
    root = Path(__file__).resolve().parents[2]
    selected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "tests/integration/test_roster_presence.py"],
        cwd=root, env={**os.environ, "SAT_TEST_SERVERS": choice}, capture_output=True, text=True, timeout=120,
    )
    assert selected.returncode == 0, selected.stdout + selected.stderr
    ids = [line for line in selected.stdout.splitlines() if "::" in line]
    servers = {"ejabberd" if "[ejabberd" in line else "prosody" for line in ids}
    assert servers == kept
    assert "skipped" not in selected.stdout
    assert ("deselected" in selected.stdout.splitlines()[-1]) == bool(dropped)


async def _disco_after_join(xmpp: Any, room: str) -> tuple[list[tuple[str, str]], set[str]]:
    """Enter ``room`` (created by this presence), then its disco#info: identities, features."""
    xmpp.send_presence(pto=f"{room}/carol")
    info = (await xmpp.plugin["xep_0030"].get_info(jid=room))["disco_info"]
    return [(category, kind) for category, kind, _, _ in info["identities"]], set(info["features"])


def test_muc_service_rooms_archive(server: EjabberdServer) -> None:
    """The MUC service the MUC suites use on ejabberd: a room made by a first presence
    offers the MUC protocol and its own archive (XEP-0313)."""
    with connected(server, "carol") as carol:
        service = carol.call(lambda xmpp: xmpp.plugin["xep_0030"].get_info(jid=server.muc_service))["disco_info"]
        assert ("conference", "text") in [(c, t) for c, t, _, _ in service["identities"]]
        identities, features = carol.call(lambda xmpp: _disco_after_join(xmpp, f"fixture@{server.muc_service}"))
    assert ("conference", "text") in identities
    assert {"http://jabber.org/protocol/muc", "urn:xmpp:mam:2"} <= features
