"""How to reach a profile's server, read from its ``Connection`` params and checked."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import InvalidArgument

if TYPE_CHECKING:
    from sat_backend.core.param_values import ParamValues

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to open one profile's stream. ``password`` is never logged:
    ``repr`` hides it."""

    jid: JID
    password: str
    host: str
    port: int
    tls_mode: str
    ca_file: Path | None

    def __repr__(self) -> str:
        return (f"ConnectionSettings(jid={self.jid.full()!r}, host={self.host!r}, port={self.port}, "
                f"tls_mode={self.tls_mode!r}, ca_file={self.ca_file!r})")

    @property
    def domain(self) -> str:
        return str(self.jid.host)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def load_settings(params: ParamValues, profile: str) -> ConnectionSettings:
    """Read and check a profile's connection params.

    :raises InvalidArgument: no password, or ``tls: none`` to a host that is not loopback.
    """
    jid = JID(await params.get_public("Connection", "JabberID", profile))
    password = await params.get_secret("Connection", "Password", profile)
    if not password:
        raise InvalidArgument(f"profile {profile!r} has no password: set Connection/Password")
    host = (await params.get_public("Connection", "Host", profile)) or str(jid.host)
    port = int(await params.get_public("Connection", "Port", profile))
    tls_mode = await params.get_public("Connection", "TLS", profile)
    if tls_mode == "none" and not is_loopback(host):
        raise InvalidArgument(
            f"TLS mode 'none' is allowed only to a loopback host, not {host!r}: "
            "it would send your messages unencrypted over the network"
        )
    ca_file_text = await params.get_public("Connection", "CAFile", profile)
    ca_file = Path(ca_file_text).expanduser() if ca_file_text else None
    return ConnectionSettings(jid, password, host, port, tls_mode, ca_file)
