"""XEP-0215 services as aiortc's ICE servers (``sat call``'s media engine): the URLs aiortc
parses, the first usable STUN and TURN server kept, the rest skipped with a reason, no
credential in any log line; and what a backend that cannot say gives (none)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from aiortc.rtcicetransport import connection_kwargs

from sat_bridge.client import BridgeUnavailable
from sat_bridge.errors import NotSupported, Stanza
from sat_frontends.calls.ice_servers import fetch_ice_servers, ice_servers

PASSWORD = "Tu4n-pa55word"


def service(kind: str, host: str = "turn.example.org", port: int = 3478, transport: str | None = "udp",
            username: str | None = None, password: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "host": host, "port": port, "transport": transport, "username": username,
            "password": password, "expires": None, "restricted": password is not None, "name": None, **extra}


def test_stun_and_turn_servers_become_aiortc_ice_servers() -> None:
    found = ice_servers([
        service("stun", "stun.example.org", 3478),
        service("turns", "turns.example.org", 5349, "tcp", "alice", PASSWORD),
    ])
    assert found.urls == ["stun:stun.example.org:3478", "turns:turns.example.org:5349?transport=tcp"]
    assert found.skipped == ()
    stun, turns = found.servers
    assert (stun.username, stun.credential) == (None, None)
    assert (turns.username, turns.credential) == ("alice", PASSWORD)
    # what aioice is given: the very servers, nothing dropped by aiortc's own parsing
    assert connection_kwargs(list(found.servers)) == {
        "stun_server": ("stun.example.org", 3478), "turn_server": ("turns.example.org", 5349),
        "turn_ssl": True, "turn_transport": "tcp", "turn_username": "alice", "turn_password": PASSWORD}


def test_turn_over_udp_and_tcp() -> None:
    for transport in ("udp", "tcp"):
        found = ice_servers([service("turn", transport=transport, username="u", password=PASSWORD)])
        assert found.urls == [f"turn:turn.example.org:3478?transport={transport}"]
        assert connection_kwargs(list(found.servers))["turn_transport"] == transport
    # no transport given: UDP, XEP-0215's usual one for STUN and TURN
    assert ice_servers([service("stun", "192.0.2.1", 19302, None)]).urls == ["stun:192.0.2.1:19302"]


def test_what_aiortc_cannot_use_is_skipped_with_a_reason() -> None:
    found = ice_servers([
        service("ftp", "files.example.org", 21, "tcp"),
        service("stun", "stun.example.org", 3478, "tcp"),        # aiortc's STUN is UDP only
        service("turns", "turns.example.org", 5349, "udp", "u", PASSWORD),  # TURNS is TLS over TCP
        service("turn", "turn.example.org", 3478, "udp"),         # restricted, without credentials
        service("stun", "2001:db8::1", 3478),                     # IPv6: aiortc's URL parser cannot
        service("stun", "stun.example.org", 3478),
        service("stun", "stun2.example.org", 3478),               # a second STUN server
        service("turn", "turn.example.org", 3478, "udp", "u", PASSWORD),
        service("turn", "turn2.example.org", 3478, "tcp", "u", PASSWORD),  # a second TURN server
    ])
    assert found.urls == ["stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp"]
    reasons = [line.split(": ", 1) for line in found.skipped]
    assert [what for what, _ in reasons] == [
        "ftp files.example.org:21/tcp", "stun stun.example.org:3478/tcp", "turns turns.example.org:5349/udp",
        "turn turn.example.org:3478/udp", "stun 2001:db8::1:3478/udp", "stun stun2.example.org:3478/udp",
        "turn turn2.example.org:3478/tcp"]
    assert [why for _, why in reasons][3:] == [
        "no credentials", "a host aiortc cannot reach (IPv6 address or malformed)",
        "aiortc uses one STUN server", "aiortc uses one TURN server"]
    assert all(PASSWORD not in line for line in found.skipped)


def test_nothing_announced_gives_no_server() -> None:
    assert ice_servers([]).servers == ()


class FakeBridge:
    """Answers ``external_services_get`` as the backend would, or raises what it would."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.timeouts: list[float | None] = []

    async def external_services_get(self, service_type: str, profile: str, timeout: float | None = None) -> str:
        assert (service_type, profile) == ("", "alice")
        self.timeouts.append(timeout)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def fetch(answer: str | Exception, timeout: float = 30) -> tuple[list[str], FakeBridge]:
    bridge = FakeBridge(answer)
    found = asyncio.run(fetch_ice_servers(bridge, "alice", timeout))  # type: ignore[arg-type]
    return found.urls, bridge


def test_fetching_logs_what_is_skipped_but_never_a_credential(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    services = [service("turn", "turn.example.org", 3478, "sctp", "alice-turn", PASSWORD),
                service("turn", "turn.example.org", 3478, "udp", "alice-turn", PASSWORD)]
    urls, bridge = fetch(json.dumps(services))
    assert urls == ["turn:turn.example.org:3478?transport=udp"]
    assert "STUN/TURN server skipped: turn turn.example.org:3478/sctp" in caplog.text
    assert PASSWORD not in caplog.text and "alice-turn" not in caplog.text
    assert bridge.timeouts == [5.0]  # bounded: a slow server never holds the call long


@pytest.mark.parametrize("failure", [NotSupported("no XEP-0215"), BridgeUnavailable("no answer in 5 s"),
                                     Stanza("forbidden"), "not json", json.dumps({"type": "stun"})])
def test_a_server_that_cannot_say_gives_host_candidates_only(failure: str | Exception,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    urls, bridge = fetch(failure, timeout=2)
    assert urls == [] and bridge.timeouts == [2]
