"""XEP-0215 External Service Discovery against a real Prosody (``mod_external_services``):
the STUN/TURN servers a frontend's ICE agent needs, TURN credentials included, and
never in the backend's log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from sat_bridge import errors
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, configured_backend
from tests.fixtures.prosody import ProsodyServer, prosody_server
from tests.integration.xmpp_helpers import connected_profile

TURN_PASSWORD = "turn-static-Pa55word"
TURN_SECRET = "shared-turn-secret-for-rest-credentials"
SERVICES = (
    {"type": "stun", "transport": "udp", "host": "stun.localhost", "port": 3478},
    {"type": "turn", "transport": "udp", "host": "turn.localhost", "port": 3478,
     "username": "alice-turn", "password": TURN_PASSWORD},
    # credentials derived from a secret (TURN REST), valid for an hour: what real servers do
    {"type": "turn", "transport": "tcp", "host": "turn.localhost", "port": 3479, "secret": TURN_SECRET, "ttl": 3600},
    # restricted without credentials in the list: the backend asks for them (§3.3)
    {"type": "turns", "transport": "tcp", "host": "turns.localhost", "port": 5349, "restricted": True},
)


@pytest.fixture
def prosody_with_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    yield from prosody_server(tmp_path_factory.mktemp("prosody-extdisco"), XMPP_ACCOUNTS, SERVICES)


@pytest.fixture
def debug_backend(backend_env: dict[str, str], tmp_path: Path) -> Iterator[BackendProcess]:
    """A backend logging at debug level: what it logs is checked for credentials."""
    with configured_backend(backend_env, tmp_path, "[log]\nlevel = debug\n") as backend:
        yield backend


def test_stun_and_turn_servers_with_credentials(debug_backend: BackendProcess,
                                                 prosody_with_services: ProsodyServer) -> None:
    with connected_profile(debug_backend, prosody_with_services, "alice") as client:
        services = json.loads(client.external_services_get("", "alice"))
        assert [(s["type"], s["transport"], s["host"], s["port"]) for s in services] == [
            ("stun", "udp", "stun.localhost", 3478), ("turn", "udp", "turn.localhost", 3478),
            ("turn", "tcp", "turn.localhost", 3479), ("turns", "tcp", "turns.localhost", 5349)]
        stun, static_turn, rest_turn, turns = services
        assert (stun["username"], stun["password"], stun["expires"], stun["restricted"]) == (None, None, None, False)
        assert (static_turn["username"], static_turn["password"], static_turn["restricted"]) == (
            "alice-turn", TURN_PASSWORD, True)
        # TURN REST: "<expiry>" user name, HMAC password, an expiry about an hour from now
        expires = datetime.fromisoformat(rest_turn["expires"].replace("Z", "+00:00"))
        assert timedelta(minutes=50) < expires - datetime.now(timezone.utc) <= timedelta(hours=1, minutes=1)
        assert rest_turn["username"] == str(int(expires.timestamp())) and len(rest_turn["password"]) == 28
        # Prosody lists it again when asked for credentials, still without: kept as it is
        assert (turns["restricted"], turns["username"], turns["password"]) == (True, None, None)

        only_turn = json.loads(client.external_services_get("turn", "alice"))
        assert [(s["type"], s["port"]) for s in only_turn] == [("turn", 3478), ("turn", 3479)]
        assert json.loads(client.external_services_get("ftp", "alice")) == []
        for bad in ("TURN", "turn udp", "x" * 33, "t\x01"):
            with pytest.raises(errors.InvalidArgument):
                client.external_services_get(bad, "alice")
    log = debug_backend.log_text()
    assert "alice: asking localhost for the credentials of 1 restricted service(s)" in log
    assert "alice: 4 external service(s) from localhost" in log
    for secret in (TURN_PASSWORD, rest_turn["password"], TURN_SECRET):
        assert secret not in log


def test_a_server_without_the_feature(backend: BackendProcess, prosody: ProsodyServer) -> None:
    with connected_profile(backend, prosody, "bob") as client:
        with pytest.raises(errors.NotSupported, match="XEP-0215"):
            client.external_services_get("", "bob")
