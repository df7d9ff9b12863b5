"""XEP-0215 External Service Discovery (v1.0.0, namespace ``urn:xmpp:extdisco:2``): the
STUN and TURN servers our own server tells us about, for a frontend's ICE agent.

A call between two devices behind NATs needs a STUN server to learn its public address,
and often a TURN relay; the server knows which ones its users may use, and hands out
short-lived TURN credentials (usually derived from a shared secret, with an
``expires`` date). ``ExternalServicesGet`` asks it (§3.1, §3.2) and, for a restricted
service whose credentials were left out, asks for them (§3.3).

The credentials go to the frontend that asked, in the bridge reply, and nowhere else:
never in a log line, an error message or a signal.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument, NotSupported, Stanza
from sat_backend.core.sessions import new_iq

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

NS_EXTDISCO = "urn:xmpp:extdisco:2"
#: a service type as the XEP's registry (§8.3) names them: ``stun``, ``turn``, ``turns``…
SERVICE_TYPE = re.compile(r"[a-z0-9][a-z0-9+.-]{0,31}")
#: services kept from one answer (a server lists a handful)
MAX_SERVICES = 64
#: characters of a host (a domain name or an IP literal; RFC 7622's bound of a domain part)
MAX_HOST_LENGTH = 1023
#: characters of a username, password or name (TURN REST credentials are ≈ 30–60)
MAX_CREDENTIAL_LENGTH = 1024
#: characters of an ``expires`` date (XEP-0082 DateTime, with fractions and offset)
MAX_DATE_LENGTH = 64
TRANSPORTS = ("tcp", "udp")

PLUGIN_INFO = {
    "name": "External Service Discovery",
    "import_name": "XEP-0215",
    "type": "XEP",
    "protocols": ["XEP-0215"],
    "dependencies": ["XEP-0030"],
    "main": "ExternalServiceDiscovery",
    "description": "STUN and TURN servers (and their credentials) from our server, for calls",
}


@dataclass(frozen=True)
class ExternalService:
    """One ``<service/>`` of an answer, checked and bounded. ``password`` never shows in
    a repr (so not in a log line either)."""

    type: str
    host: str
    port: int | None = None
    transport: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    expires: str | None = None
    restricted: bool = False
    name: str | None = None

    @property
    def key(self) -> tuple[str, str, int | None]:
        """What a credentials answer is matched on (§3.3: type, host and port)."""
        return self.type, self.host, self.port

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "host": self.host, "port": self.port, "transport": self.transport,
                "username": self.username, "password": self.password, "expires": self.expires,
                "restricted": self.restricted, "name": self.name}


def parse_services(element: domish.Element) -> list[ExternalService]:
    """The services of a ``<services/>`` or ``<credentials/>`` answer, in order; a
    malformed one is left out (logged without its attributes: they may hold a password),
    and at most :data:`MAX_SERVICES` are kept."""
    services: list[ExternalService] = []
    for index, child in enumerate(element.elements(NS_EXTDISCO, "service"), 1):
        if len(services) == MAX_SERVICES:
            log.info("external services: more than %d in one answer, the rest are ignored", MAX_SERVICES)
            break
        try:
            services.append(parse_service(child))
        except ValueError as exc:
            log.info("external services: service %d left out: %s", index, exc)
    return services


def parse_service(service: domish.Element) -> ExternalService:
    """:raises ValueError: a required attribute missing, or a value out of bounds
    (the message never quotes a value)."""
    type_ = service.getAttribute("type") or ""
    if not SERVICE_TYPE.fullmatch(type_):
        raise ValueError("no type, or not a registered type's form")
    host = _bounded(service, "host", MAX_HOST_LENGTH)
    if host is None:
        raise ValueError("no host")
    port_text = service.getAttribute("port")
    port = None
    if port_text is not None:
        if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
            raise ValueError("a port that is not 1–65535")
        port = int(port_text)
    transport = service.getAttribute("transport")
    if transport is not None and transport not in TRANSPORTS:
        raise ValueError("a transport that is neither tcp nor udp")
    expires = _bounded(service, "expires", MAX_DATE_LENGTH)
    if expires is not None:
        try:
            datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("an expiry that is not a XEP-0082 date") from None
    return ExternalService(
        type_, host, port, transport, _bounded(service, "username", MAX_CREDENTIAL_LENGTH),
        _bounded(service, "password", MAX_CREDENTIAL_LENGTH), expires,
        service.getAttribute("restricted") in ("1", "true"), _bounded(service, "name", MAX_CREDENTIAL_LENGTH),
    )


def _bounded(service: domish.Element, attribute: str, limit: int) -> str | None:
    value = service.getAttribute(attribute)
    if value is None or value == "":
        return None
    if len(value) > limit:
        raise ValueError(f"its {attribute} is longer than {limit} characters")
    return str(value)


class ExternalServiceDiscovery:
    def __init__(self, host: Backend) -> None:
        self.host = host

    async def initialise(self) -> None:
        self.host.bridge.register_method("ExternalServicesGet", self.external_services_get)

    async def external_services_get(self, service_type: str, profile: str) -> str:
        """The bridge method: the services as a JSON list (see :meth:`get_services`)."""
        if service_type and not SERVICE_TYPE.fullmatch(service_type):
            raise InvalidArgument("service_type must be \"\" or a service type such as stun, turn or turns")
        client = self.host.sessions.get_client(await self.host.profiles.resolve(profile))
        services = await self.get_services(client, service_type or None)
        return json.dumps([service.to_json() for service in services])

    async def get_services(self, client: XmppClient, service_type: str | None = None) -> list[ExternalService]:
        """The external services our server announces, of ``service_type`` if given,
        with the credentials of restricted ones asked for when the list lacks them.

        :raises NotSupported: the server does not advertise XEP-0215.
        :raises Stanza: the server refused (the message starts with the condition).
        :raises Timeout: no answer in time.
        """
        server = JID(client.jid.host)
        info = await self.host.plugins["XEP-0030"].get_info(client, server)
        if NS_EXTDISCO not in info.features:
            raise NotSupported(f"{server.full()} does not announce external services (XEP-0215)")
        request = domish.Element((NS_EXTDISCO, "services"))
        if service_type is not None:
            request["type"] = service_type
        services = await self._ask(client, server, request)
        lacking = [service for service in services if service.restricted and service.password is None]
        if lacking:
            services = await self._with_credentials(client, server, services, lacking)
        log.debug("%s: %d external service(s) from %s", client.profile, len(services), server.full())
        return services

    async def _with_credentials(self, client: XmppClient, server: JID, services: list[ExternalService],
                                lacking: list[ExternalService]) -> list[ExternalService]:
        """``services`` with the credentials the server gives for ``lacking`` (§3.3); a
        refusal leaves them without (the relay will refuse us, the call may still work)."""
        request = domish.Element((NS_EXTDISCO, "credentials"))
        for service in lacking:
            wanted = request.addElement("service")
            wanted["type"], wanted["host"] = service.type, service.host
            if service.port is not None:
                wanted["port"] = str(service.port)
        log.debug("%s: asking %s for the credentials of %d restricted service(s)", client.profile, server.full(),
                  len(lacking))
        try:
            answered = {service.key: service for service in await self._ask(client, server, request)}
        except Stanza as exc:
            log.info("%s: no credentials for restricted external services: %s", client.profile, exc)
            return services
        return [answered.get(service.key, service) if service in lacking else service for service in services]

    async def _ask(self, client: XmppClient, server: JID, query: domish.Element) -> list[ExternalService]:
        iq = new_iq(client, "get")
        iq["to"] = server.full()
        iq.addChild(query)
        try:
            answer = await self.host.sessions.answer(iq.send())
        except error.StanzaError as exc:
            raise Stanza(f"{exc.condition}: {server.full()} refused the external services request") from None
        found = next(answer.elements(NS_EXTDISCO, query.name), None)
        return [] if found is None else parse_services(found)
