"""The XEP-0045 handler of one profile's stream: presences and errors from its rooms,
invitations (issue 14: its base class, tx-xmpp's ``XMPPHandler``, imports Twisted's XML
stream and with it the TLS stack, so the plugin imports this module at the first
connection)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.plugins.muc.administration import NS_CONFERENCE
from sat_backend.plugins.muc.rooms import RoomRefused, apply_presence
from sat_backend.plugins.muc.stanzas import NS_MUC_USER, MalformedPresence, parse_error, parse_occupant_presence

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0045 import GroupChats

log = logging.getLogger("sat_backend.plugins.plugin_xep_0045")


class MucHandler(XMPPHandler):  # type: ignore[misc]
    """Presences and errors from the rooms of one profile's stream."""

    def __init__(self, plugin: GroupChats, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client

    def connectionInitialized(self) -> None:
        self.xmlstream.addObserver("/presence", self.on_presence)
        # one observer for both kinds: a room adds a XEP-0249 element to its mediated invitations
        self.xmlstream.addObserver(f"/message/x[@xmlns='{NS_CONFERENCE}']", self.on_invitation)
        self.xmlstream.addObserver(f"/message/x[@xmlns='{NS_MUC_USER}']", self.on_invitation)

    def on_invitation(self, element: domish.Element) -> None:
        if element.getAttribute("type") in ("error", "groupchat") or getattr(element, "muc_invitation_seen", False):
            return
        element.muc_invitation_seen = True  # type: ignore[attr-defined]  # the second observer sees it too
        self.plugin.administration.on_invitation(self.client, element)

    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        self.plugin.on_stream_lost(self.client.profile)

    def on_presence(self, element: domish.Element) -> None:
        room = self.plugin.room_of(self.client.profile, element.getAttribute("from"))
        if room is None:
            return
        self.plugin.self_ping.note_activity(self.client.profile, room.jid.userhost())
        if element.getAttribute("type") == "error":
            refusal = parse_error(element)
            pending = room.pending()
            if pending:
                pending[0].set_exception(RoomRefused(refusal))
            else:
                log.info("%s: %s answered an error: %s", self.client.profile, room.jid.userhost(), refusal.describe())
            return
        if "/" not in element.getAttribute("from", ""):
            return  # the room's own presence (ejabberd sends one): no occupant
        try:
            presence = parse_occupant_presence(element)
        except MalformedPresence as exc:
            log.warning("%s: dropped a presence from %s: %s", self.client.profile, room.jid.userhost(), exc)
            return
        for event in apply_presence(room, presence):
            self.plugin.announce(self.client, room, event)
