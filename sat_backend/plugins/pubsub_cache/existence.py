"""The pubsub cache on services that do not notify node deletion.

XEP-0060 (1.26) makes delete notifications a node option (``pubsub#notify_delete``); ejabberd
23.01 leaves it off by default, as it does ``notify_config``. A synchronised node deleted
while we are online would then be served from the cache until the next connection (when the
reconnection check finds it gone). So a ``completed`` node read through the transparent path
(``PsItemsGet``, ``MbGet``) is first confirmed with its service when it was not confirmed in
the last ``Pubsub/CacheRevalidateAfter`` seconds (nor yet in this run): one disco#info on the
node (XEP-0060 §5.3), no items. ``item-not-found`` queues a ``delete`` as if notified (the
cache drops the node, ``PsEvent`` follows) and the read goes to the service, which reports
the node missing. Any other answer, or none, keeps the cache serving: only a service saying
the node is gone makes it gone. ``PsCacheGet`` reads the cache alone and asks nobody.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable

from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import NotFound
from sat_backend.core.params import ParamDefinition
from sat_backend.core.sessions import new_iq
from sat_backend.memory.pubsub_cache_values import CachedNode
from sat_backend.plugins.plugin_xep_0060 import PubsubEvent

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
DEFAULT_REVALIDATE_AFTER = 300
REVALIDATE_PARAM = ParamDefinition(
    "Pubsub", "CacheRevalidateAfter", "int", str(DEFAULT_REVALIDATE_AFTER),
    "Seconds after which a cached node is confirmed with its service before being served (0: every read)",
    minimum=0, maximum=86_400 * 30,
)


class ExistenceCheck:
    """When a cached node was last confirmed to exist, per node, in this run (memory only:
    after a restart every node is confirmed at its first read)."""

    def __init__(self, host: Backend, clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.pubsub = host.plugins["XEP-0060"]
        self.clock = clock
        self._confirmed: dict[int, float] = {}

    async def still_exists(self, client: XmppClient, service: JID, node: CachedNode) -> bool:
        """False when the service says the node is gone (the deletion is then queued)."""
        after = int(await self.host.params.get_public("Pubsub", "CacheRevalidateAfter", client.profile))
        confirmed = self._confirmed.get(node.id)
        now = self.clock()
        if confirmed is not None and now - confirmed < after:
            return True
        iq = new_iq(client, "get")
        iq["to"] = service.full()
        iq.addElement((NS_DISCO_INFO, "query"))["node"] = node.name
        try:
            await self.pubsub.ask(iq.send(), f"information on {node.name!r}")
        except NotFound:
            log.info("%s: cached node %s of %s is gone from the service (no delete notification)",
                     client.profile, node.name, node.service)
            self._confirmed.pop(node.id, None)
            self.pubsub.queue_event(PubsubEvent(client, service, node.name, "delete"))
            return False
        except Exception as exc:  # noqa: BLE001 - cannot tell: the cache keeps serving it
            log.info("%s: existence of cached node %s not confirmed (%s): served from the cache",
                     client.profile, node.name, exc)
        self._confirmed[node.id] = now
        return True
