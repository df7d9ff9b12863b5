"""The XMPP handler of the XEP-0060 plugin: pubsub notifications, as tx-xmpp's client
parses them, queued to the plugin as :class:`~.plugin_xep_0060.PubsubEvent`.

Apart from the plugin so that a start does not import tx-xmpp's pubsub client (and its
data forms): the plugin makes one handler per connection, and imports this module at
the first (issue 14).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from tx_xmpp import data_form, pubsub
from tx_xmpp.rsm import PubSubClient

from sat_backend.plugins.plugin_xep_0060 import PubsubEvent
from sat_backend.plugins.pubsub_owner import form_values

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0060 import Pubsub

log = logging.getLogger(__name__)


class PubsubHandler(PubSubClient):  # type: ignore[misc]
    def __init__(self, plugin: Pubsub, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client

    def itemsReceived(self, event: pubsub.ItemsEvent) -> None:
        items = [e for e in event.items if e.name == "item"]
        retracted = [str(e["id"]) for e in event.items if e.name == "retract" and e.getAttribute("id")]
        if items:
            self._deliver(event, "items", items=items)
        if retracted:
            self._deliver(event, "retract", retracted=retracted)

    def purgeReceived(self, event: pubsub.PurgeEvent) -> None:
        self._deliver(event, "purge")

    def deleteReceived(self, event: pubsub.DeleteEvent) -> None:
        self._deliver(event, "delete")

    def _onEvent_configuration(self, sender: JID, recipient: JID, action: domish.Element,
                               headers: Any) -> None:
        """XEP-0060 §4.3 configuration notification: tx-xmpp's ``_onEvent`` dispatches by
        the action's name, but has no handler for this one."""
        form = next(action.elements(data_form.NS_X_DATA, "x"), None)
        try:
            config = form_values(form) if form is not None else {}
        except data_form.Error as exc:
            log.warning("%s: malformed configuration notification from %s: %s", self.client.profile, sender, exc)
            return
        self.plugin.queue_event(PubsubEvent(self.client, sender, action.getAttribute("node", ""), "config",
                                            config=config))

    def _deliver(self, event: Any, event_type: str, **data: Any) -> None:
        self.plugin.queue_event(PubsubEvent(self.client, event.sender, event.nodeIdentifier, event_type, **data))
