"""XEP-0115 Entity Capabilities (v1.6): a hash of what we support in every presence, and
a persistent cache of what others support.

Our presences carry ``<c hash='sha-1' node=… ver=…/>``; others can then learn our
features once per release instead of asking each time. For the presences we receive,
the ``ver`` is looked up in a cache kept in the database (shared by all profiles, since
a hash names the same capabilities everywhere); an unknown one is asked once with
disco#info on ``node#ver``, and cached only when the answer hashes to that ``ver``
(XEP-0115 §5.4: a wrong or poisoned answer is not cached).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import BridgeError
from sat_backend.core.im.background import run_in_background
from sat_backend.plugins.plugin_xep_0030 import DiscoInfo

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

NS_CAPS = "http://jabber.org/protocol/caps"
OUR_NODE = "https://salut-a-toi.org"
PRIVATE_NAMESPACE = "XEP-0115"

PLUGIN_INFO = {
    "name": "Entity Capabilities",
    "import_name": "XEP-0115",
    "type": "XEP",
    "protocols": ["XEP-0115"],
    "dependencies": ["XEP-0030"],
    "main": "EntityCapabilities",
    "handler": False,
    "description": "Advertise our features in presences; cache other entities' features",
}


def capabilities_hash(info: DiscoInfo) -> str:
    """The ``ver`` string of XEP-0115 §5.1 (SHA-1; data forms are not used by us)."""
    text = ""
    for category, type_, lang, name in sorted(info.identities):
        text += f"{category}/{type_}/{lang}/{name}<"
    for feature in sorted(info.features):
        text += f"{feature}<"
    return base64.b64encode(hashlib.sha1(text.encode("utf-8")).digest()).decode("ascii")


class EntityCapabilities:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.disco = host.plugins["XEP-0030"]
        #: (profile, full JID) → ver announced by that entity
        self.entity_ver: dict[tuple[str, str], str] = {}
        self._in_progress: set[str] = set()

    async def initialise(self) -> None:
        self.disco.add_feature(NS_CAPS)
        self.disco.node_providers.append(lambda: {f"{OUR_NODE}#{self.our_ver()}"})
        self.disco.info_lookups.append(self.cached_info)
        self.host.presence.extenders.append(self.caps_element)
        self.host.presence.availability_listeners.append(self.on_presence)

    def our_ver(self) -> str:
        return capabilities_hash(self.disco.own_info())

    def caps_element(self) -> domish.Element:
        caps = domish.Element((NS_CAPS, "c"))
        caps["hash"], caps["node"], caps["ver"] = "sha-1", OUR_NODE, self.our_ver()
        return caps

    async def cached_info(self, profile: str, entity: JID, node: str | None) -> DiscoInfo | None:
        ver = self.entity_ver.get((profile, entity.full()))
        if ver is None or node:
            return None
        data = await self.host.storage.get_private(PRIVATE_NAMESPACE, ver)
        return DiscoInfo.from_json(data) if isinstance(data, dict) else None

    def on_presence(self, client: XmppClient, element: domish.Element) -> None:
        caps = next(element.elements(NS_CAPS, "c"), None)
        sender = element.getAttribute("from")
        if caps is None or not sender or caps.getAttribute("hash") != "sha-1":
            return  # legacy (no hash) or other hash functions: not cached
        ver, node = caps.getAttribute("ver"), caps.getAttribute("node")
        if not ver or not node:
            return
        self.entity_ver[(client.profile, sender)] = ver
        run_in_background(self.learn(client, JID(sender), node, ver), f"{client.profile}: capabilities of {sender}",
                          client.profile)

    async def learn(self, client: XmppClient, entity: JID, node: str, ver: str) -> None:
        if ver in self._in_progress or await self.host.storage.get_private(PRIVATE_NAMESPACE, ver) is not None:
            return
        self._in_progress.add(ver)
        try:
            info = await self.disco.handlers[client.profile].query_info(entity, f"{node}#{ver}")
        except BridgeError as exc:
            log.info("%s: capabilities of %s not learnt: %s", client.profile, entity.full(), exc)
            return
        finally:
            self._in_progress.discard(ver)
        if capabilities_hash(info) != ver:
            log.warning("%s: %s announced capabilities %s that its answer does not match; not cached",
                        client.profile, entity.full(), ver)
            return
        data: dict[str, Any] = info.to_json()
        await self.host.storage.set_private(PRIVATE_NAMESPACE, ver, data)
        log.debug("capabilities %s cached (%d features)", ver, len(info.features))
