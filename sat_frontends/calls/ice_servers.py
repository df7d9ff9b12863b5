"""The STUN/TURN servers of the user's server (XEP-0215, ``ExternalServicesGet``) as
aiortc's ICE servers, so that a call behind a NAT gets server-reflexive and relayed
candidates instead of host candidates only.

aiortc (aioice) uses one STUN server (UDP) and one TURN server (``turn:`` over UDP or
TCP, ``turns:`` over TCP, user name and password): the first usable entry of each kind
is kept, the others are skipped with a log line. Credentials are never logged."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Iterable

from aiortc import RTCIceServer

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import BridgeError, NotSupported

log = logging.getLogger(__name__)

#: seconds to wait for the backend's answer: without it the call goes on, on host candidates
FETCH_TIMEOUT = 5.0
#: ``(type, transport)`` aiortc can use, and the scheme each is written with
_SCHEMES = {("stun", "udp"): "stun", ("turn", "udp"): "turn", ("turn", "tcp"): "turn", ("turns", "tcp"): "turns"}


@dataclass(frozen=True)
class IceServers:
    """What a list of external services gives aiortc: the servers, and why others were left."""

    servers: tuple[RTCIceServer, ...] = ()
    #: one line per service left out (type, host and port: never a credential)
    skipped: tuple[str, ...] = ()

    @property
    def urls(self) -> list[str]:
        return [str(server.urls) for server in self.servers]


def ice_servers(services: Iterable[dict[str, Any]]) -> IceServers:
    """Map ``ExternalServicesGet``'s services (in the server's order) to aiortc's ICE
    servers: the first usable STUN server and the first usable TURN server."""
    servers: list[RTCIceServer] = []
    skipped: list[str] = []
    kinds_taken: set[str] = set()
    for service in services:
        what = _describe(service)
        reason = _unusable(service)
        kind = "stun" if service.get("type") == "stun" else "turn"
        if reason is None and kind in kinds_taken:
            reason = f"aiortc uses one {kind.upper()} server"
        if reason is not None:
            skipped.append(f"{what}: {reason}")
            continue
        kinds_taken.add(kind)
        servers.append(_server(service))
    return IceServers(tuple(servers), tuple(skipped))


def _scheme(service: dict[str, Any]) -> str | None:
    """The URL scheme of ``service`` for aiortc, None for a kind it cannot use."""
    return _SCHEMES.get((str(service.get("type")), _transport(service)))


def _transport(service: dict[str, Any]) -> str:
    return str(service.get("transport") or "udp")


def _unusable(service: dict[str, Any]) -> str | None:
    """Why aiortc cannot use ``service``, None when it can."""
    scheme = _scheme(service)
    if scheme is None:
        return "not a STUN (udp), TURN (udp, tcp) or TURNS (tcp) server aiortc can use"
    host, port = service.get("host"), service.get("port")
    if not isinstance(host, str) or not host or any(c in host for c in ":?/@ ") or not isinstance(port, int):
        return "a host aiortc cannot reach (IPv6 address or malformed)"
    if scheme != "stun" and not (service.get("username") and service.get("password")):
        return "no credentials"
    return None


def _server(service: dict[str, Any]) -> RTCIceServer:
    scheme = _scheme(service)
    url = f"{scheme}:{service['host']}:{service['port']}"
    if scheme == "stun":
        return RTCIceServer(urls=url)
    return RTCIceServer(urls=f"{url}?transport={_transport(service)}",
                        username=service["username"], credential=service["password"])


def _describe(service: dict[str, Any]) -> str:
    """A service for a log line: type, transport, host and port, bounded."""
    return (f"{str(service.get('type'))[:16]} {str(service.get('host'))[:64]}:{str(service.get('port'))[:8]}"
            f"/{str(service.get('transport'))[:8]}")


async def fetch_ice_servers(client: AsyncBridgeClient, profile: str, timeout: float) -> IceServers:
    """The ICE servers of ``profile``'s server; none when it announces none, does not
    support XEP-0215, or does not answer in time (the call still works on host
    candidates, on one network)."""
    try:
        answer = await client.external_services_get("", profile, timeout=min(timeout, FETCH_TIMEOUT))
        services = json.loads(answer)
    except NotSupported:
        log.info("%s's server has no STUN/TURN servers to give (no XEP-0215): host candidates only", profile)
        return IceServers()
    except (BridgeError, ValueError) as error:  # Timeout, Stanza, a backend without the member…
        log.warning("no STUN/TURN servers from %s's server (%s): host candidates only", profile,
                    type(error).__name__)
        return IceServers()
    if not isinstance(services, list):
        return IceServers()
    found = ice_servers(service for service in services if isinstance(service, dict))
    for line in found.skipped:
        log.info("STUN/TURN server skipped: %s", line)
    return found
