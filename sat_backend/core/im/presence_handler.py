"""The presence handler of one profile's stream (issue 14: its base class, tx-xmpp's
``PresenceProtocol``, imports Twisted's XML stream and with it the TLS stack, so
:mod:`~sat_backend.core.im.presence` imports this module at the first connection)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from twisted.words.xish import domish
from tx_xmpp.xmppim import AvailabilityPresence, PresenceProtocol, SubscriptionPresence

from sat_backend.core.im.background import run_in_background

if TYPE_CHECKING:
    from sat_backend.core.im.presence import PresenceService
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger("sat_backend.core.im.presence")


class PresenceHandler(PresenceProtocol):  # type: ignore[misc]
    """Presence stanzas of one profile's stream."""

    def __init__(self, service: PresenceService, client: XmppClient) -> None:
        super().__init__()
        self.service = service
        self.client = client

    def availableReceived(self, presence: AvailabilityPresence) -> None:
        if self.service.from_room(self.client, presence):
            return
        self.service.on_availability(self.client, presence)
        self._tell(self.service.availability_listeners, presence)

    def unavailableReceived(self, presence: AvailabilityPresence) -> None:
        if not self.service.from_room(self.client, presence):
            self.service.on_availability(self.client, presence)
            self._tell(self.service.unavailability_listeners, presence)

    def _tell(self, listeners: list[Callable[[XmppClient, domish.Element], None]],
              presence: AvailabilityPresence) -> None:
        for listener in listeners:
            try:
                listener(self.client, presence.element)
            except Exception:  # noqa: BLE001 - never let a listener break presence handling
                log.exception("%s: presence listener failed", self.client.profile)

    def subscribeReceived(self, presence: SubscriptionPresence) -> None:
        if presence.sender is not None:
            run_in_background(self.service.on_subscribe_request(self, presence.sender.userhostJID()),
                              f"{self.client.profile}: subscription request", self.client.profile)

    def subscribedReceived(self, presence: SubscriptionPresence) -> None:
        if presence.sender is not None:
            run_in_background(self.service.on_subscription_approved(self, presence.sender.userhostJID()),
                              f"{self.client.profile}: subscription approved", self.client.profile)

    def unsubscribeReceived(self, presence: SubscriptionPresence) -> None:
        if presence.sender is not None:  # a request withdrawn: nothing left to answer
            self.service.pending_requests.get(self.client.profile, set()).discard(presence.sender.userhost())

    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        self.service.forget(self.client.profile)
