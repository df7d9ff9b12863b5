"""The roster handler of one profile's stream (issue 14: its base class, tx-xmpp's
``RosterClientProtocol``, imports Twisted's XML stream and with it the TLS stack, so
:mod:`~sat_backend.core.im.roster` imports this module at the first connection)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tx_xmpp.xmppim import RosterClientProtocol, RosterRequest

from sat_backend.core.im.background import as_deferred

if TYPE_CHECKING:
    from sat_backend.core.im.roster import RosterService
    from sat_backend.core.xmpp.client import XmppClient


class RosterHandler(RosterClientProtocol):  # type: ignore[misc]
    """Roster requests and pushes of one profile's stream."""

    def __init__(self, service: RosterService, client: XmppClient) -> None:
        super().__init__()
        self.service = service
        self.client = client

    def setReceived(self, request: RosterRequest) -> Any:
        return as_deferred(self.service.on_push(self.client.profile, request.item, request.version),
                           self.client.profile)

    def removeReceived(self, request: RosterRequest) -> Any:
        return as_deferred(self.service.on_push(self.client.profile, request.item, request.version),
                           self.client.profile)
