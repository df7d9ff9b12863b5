"""XEP-0030 Service Discovery (v2.5): what we are and support, and asking others.

We answer ``disco#info`` with our identity (``client/pc``) and the features that the
core and plugins declare with :meth:`ServiceDiscovery.add_feature`, also under the
XEP-0115 node ``<caps node>#<ver>``. ``DiscoInfos`` asks another entity, through the
caps cache when its capabilities are already known.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.jids import parse_jid
from sat_backend.core.sessions import new_iq

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.plugins.disco_handler import DiscoHandler
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items"

PLUGIN_INFO = {
    "name": "Service Discovery",
    "import_name": "XEP-0030",
    "type": "XEP",
    "protocols": ["XEP-0030"],
    "main": "ServiceDiscovery",
    "handler": True,
    "description": "Answers and asks what entities are and support",
}


@dataclass(frozen=True)
class DiscoInfo:
    """What an entity said about itself: identities (category, type, lang, name), features."""

    identities: tuple[tuple[str, str, str, str], ...] = ()
    features: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> dict[str, Any]:
        return {
            "identities": [{"category": c, "type": t, "lang": lang, "name": n} for c, t, lang, n in self.identities],
            "features": sorted(self.features),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiscoInfo:
        return cls(
            tuple((i["category"], i["type"], i.get("lang", ""), i.get("name", "")) for i in data["identities"]),
            frozenset(data["features"]),
        )

    @classmethod
    def from_query(cls, query: domish.Element) -> DiscoInfo:
        identities = []
        features = set()
        for child in query.elements():  # elements(uri) alone ignores the namespace (Twisted)
            if child.uri != NS_DISCO_INFO:
                continue
            if child.name == "identity" and child.getAttribute("category") and child.getAttribute("type"):
                identities.append((
                    str(child["category"]), str(child["type"]),
                    str(child.getAttribute(("http://www.w3.org/XML/1998/namespace", "lang")) or ""),
                    str(child.getAttribute("name") or ""),
                ))
            elif child.name == "feature" and child.getAttribute("var"):
                features.add(str(child["var"]))
        return cls(tuple(identities), frozenset(features))

    def to_query(self, node: str | None = None) -> domish.Element:
        query = domish.Element((NS_DISCO_INFO, "query"))
        if node:
            query["node"] = node
        for category, type_, lang, name in self.identities:
            identity = query.addElement("identity")
            identity["category"], identity["type"] = category, type_
            if lang:
                identity[("http://www.w3.org/XML/1998/namespace", "lang")] = lang
            if name:
                identity["name"] = name
        for feature in sorted(self.features):
            query.addElement("feature")["var"] = feature
        return query


class ServiceDiscovery:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.identities: list[tuple[str, str, str, str]] = [("client", "pc", "", "SàT")]
        self.features: set[str] = {NS_DISCO_INFO, NS_DISCO_ITEMS, "urn:xmpp:sid:0"}
        self.handlers: dict[str, DiscoHandler] = {}
        #: extra nodes we answer for (XEP-0115 adds ``node#ver``)
        self.node_providers: list[Callable[[], set[str]]] = []
        #: consulted before asking the network: (profile, entity, node) → cached info
        self.info_lookups: list[Callable[[str, JID, str | None], Any]] = []

    async def initialise(self) -> None:
        self.host.sessions.add_handler_factory(self._make_handler)
        self.host.bridge.register_method("DiscoInfos", self.disco_infos)

    def _make_handler(self, client: XmppClient) -> DiscoHandler:
        from sat_backend.plugins.disco_handler import DiscoHandler  # issue 14: at the first connection

        handler = DiscoHandler(self, client)
        self.handlers[client.profile] = handler
        return handler

    def add_feature(self, feature: str) -> None:
        """Advertise ``feature`` (a namespace) from now on (call it when loading)."""
        self.features.add(feature)

    def own_info(self) -> DiscoInfo:
        return DiscoInfo(tuple(self.identities), frozenset(self.features))

    def own_nodes(self) -> set[str]:
        nodes: set[str] = set()
        for provider in self.node_providers:
            nodes |= provider()
        return nodes

    async def get_info(self, client: XmppClient, entity: JID, node: str | None = None) -> DiscoInfo:
        for lookup in self.info_lookups:
            cached = await lookup(client.profile, entity, node)
            if cached is not None:
                return cached
        return await self.handlers[client.profile].query_info(entity, node)

    def send_items_query(self, client: XmppClient, entity: JID, node: str | None = None) -> Any:
        """Send a ``disco#items`` request (§4) to ``entity`` (on ``node`` if given);
        returns the Deferred of the answer IQ, for the caller to await and map errors as
        its use case says (the pubsub cache lists a node's item ids this way, §5.5 of
        XEP-0060). :func:`items_of` reads the answer."""
        iq = new_iq(client, "get")
        iq["to"] = entity.full()
        query = iq.addElement((NS_DISCO_ITEMS, "query"))
        if node:
            query["node"] = node
        return iq.send()

    async def disco_infos(self, entity: str, node: str, profile: str) -> str:
        target = parse_jid(entity, "jid")
        client = self.host.sessions.get_client(await self.host.profiles.resolve(profile))
        info = await self.get_info(client, target, node or None)
        return json.dumps(info.to_json())


@dataclass(frozen=True)
class DiscoItem:
    """One ``<item/>`` of a ``disco#items`` answer (XEP-0030 §4.2)."""

    jid: str
    node: str | None = None
    name: str | None = None


def items_of(answer: domish.Element) -> list[DiscoItem]:
    """The items of a ``disco#items`` answer IQ (none when it has no query)."""
    query = next(answer.elements(NS_DISCO_ITEMS, "query"), None)
    if query is None:
        return []
    return [DiscoItem(str(item.getAttribute("jid", "")), item.getAttribute("node"), item.getAttribute("name"))
            for item in query.elements(NS_DISCO_ITEMS, "item")]
