"""XEP-0353 Jingle Message Initiation (v0.8.0, namespace ``urn:xmpp:jingle-message:0``):
the caller's side.

A call to a bare JID cannot pick a device: we send a ``<propose/>`` message to the bare
JID, so that the server hands it to every device of the callee; the device that answers
sends ``<proceed/>`` from its full JID, and only then does the Jingle session start, with
a ``session-initiate`` to that device (XEP-0167's path, :meth:`Calls.initiate`). Until
then the call is a *proposal*, kept in memory, bounded per profile.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.exceptions import Conflict, ProfileNotConnected
from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import ChatMessage, build_message_element, new_uid
from sat_backend.plugins.jingle.model import SessionDescription
from sat_backend.plugins.jingle.namespaces import NS_JINGLE_RTP

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

NS_JINGLE_MESSAGE = "urn:xmpp:jingle-message:0"
NS_HINTS = "urn:xmpp:hints"
#: proposals a profile may have waiting for an answer at once
MAX_PROPOSALS = 8
#: a peer's ``id`` longer than this is not one of our sids (ours are 32 characters)
MAX_SID_LENGTH = 256

PLUGIN_INFO = {
    "name": "Jingle Message Initiation",
    "import_name": "XEP-0353",
    "type": "XEP",
    "protocols": ["XEP-0353"],
    "dependencies": ["XEP-0030", "XEP-0167"],
    "main": "JingleMessageInitiation",
    "handler": True,
    "description": "Calls to a bare JID ring every device of the callee; the one that answers gets the call",
}


@dataclass
class Proposal:
    """A call proposed to ``peer`` (a bare JID), waiting for one device to proceed."""

    profile: str
    sid: str
    peer: str
    offer: SessionDescription
    ringing: bool = False


class JingleMessageHandler(XMPPHandler):  # type: ignore[misc]
    def __init__(self, plugin: JingleMessageInitiation, client: XmppClient) -> None:
        super().__init__()
        self.plugin = plugin
        self.client = client

    def connectionInitialized(self) -> None:
        self.xmlstream.addObserver("/message", self.on_message)

    def connectionLost(self, reason: object) -> None:
        self.plugin.on_stream_lost(self.client.profile)

    def on_message(self, element: domish.Element) -> None:
        if element.getAttribute("type") == "error":
            return
        for child in element.elements(NS_JINGLE_MESSAGE):
            self.plugin.on_jingle_message(self.client, element.getAttribute("from"), child)


class JingleMessageInitiation:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.proposals: dict[tuple[str, str], Proposal] = {}

    async def initialise(self) -> None:
        self.host.plugins["XEP-0030"].add_feature(NS_JINGLE_MESSAGE)
        self.host.sessions.add_handler_factory(lambda client: JingleMessageHandler(self, client))

    def propose(self, client: XmppClient, peer: JID, sid: str, offer: SessionDescription) -> None:
        """Send ``<propose/>`` for ``offer`` to the bare JID ``peer``.

        :raises Conflict: the profile has :data:`MAX_PROPOSALS` proposals waiting.
        :raises ProfileNotConnected: the stream is gone.
        """
        if sum(1 for profile, _ in self.proposals if profile == client.profile) >= MAX_PROPOSALS:
            raise Conflict("too many calls waiting for an answer; end one first")
        proposal = Proposal(client.profile, sid, peer.userhost(), offer)
        message, propose = self._jingle_message(client, proposal, "propose")
        for media in offer.media:  # XEP-0353 §3.1: the media, in the offer's order
            propose.addElement((NS_JINGLE_RTP, "description"))["media"] = media.kind
        client.send_stanza(message)
        self.proposals[(client.profile, sid)] = proposal

    def retract(self, client: XmppClient, sid: str) -> bool:
        """Withdraw our proposal ``sid`` (``<retract/>``); False when there is none."""
        proposal = self.proposals.pop((client.profile, sid), None)
        if proposal is None:
            return False
        self._withdraw(client, proposal, "cancel")
        return True

    def _withdraw(self, client: XmppClient, proposal: Proposal, reason: str) -> None:
        self._emit_state(proposal, "ended", reason)
        try:
            client.send_stanza(self._jingle_message(client, proposal, "retract")[0])
        except ProfileNotConnected:
            log.info("%s: stream gone before a call proposal could be retracted", client.profile)

    def on_jingle_message(self, client: XmppClient, sender: str | None, child: domish.Element) -> None:
        """Act on a ``<ringing/>``, ``<proceed/>`` or ``<reject/>`` about one of our proposals."""
        sid = child.getAttribute("id") or ""
        if not sender or len(sid) > MAX_SID_LENGTH:
            return
        proposal = self.proposals.get((client.profile, sid))
        try:
            device = JID(sender)
        except Exception:  # noqa: BLE001 - the server checks "from"; never trust it to
            return
        if proposal is None or device.userhost() != proposal.peer:
            log.debug("%s: ignored a Jingle message <%s/> about no proposal of ours", client.profile, child.name)
            return
        if child.name == "ringing":
            if not proposal.ringing:
                proposal.ringing = True
                self._emit_state(proposal, "ringing", "")
        elif child.name == "proceed" and device.resource:
            del self.proposals[(client.profile, sid)]
            run_in_background(self._initiate(client, proposal, device.full()),
                              f"{client.profile}: starting a proposed call", client.profile)
        elif child.name == "reject":
            del self.proposals[(client.profile, sid)]
            self._emit_state(proposal, "ended", "decline")

    def on_stream_lost(self, profile: str) -> None:
        for key in [key for key in self.proposals if key[0] == profile]:
            self._emit_state(self.proposals.pop(key), "ended", "connectivity-error")

    async def _initiate(self, client: XmppClient, proposal: Proposal, device: str) -> None:
        """The device proceeded: start the Jingle session with it, if the profile has
        room for one more call (proposals are bounded apart from calls)."""
        calls = self.host.plugins["XEP-0167"]
        if not calls.has_room(client.profile):
            self._withdraw(client, proposal, "busy")
            return
        try:
            await calls.initiate(client, proposal.sid, device, proposal.offer,
                                                         announce=not proposal.ringing)
        except Exception as exc:  # noqa: BLE001 - refused, timed out or stream lost: the call is over
            log.info("%s: the device that proceeded refused the session-initiate: %s", client.profile, exc)
            self._emit_state(proposal, "ended", "connectivity-error")

    @staticmethod
    def _jingle_message(client: XmppClient, proposal: Proposal, name: str) -> tuple[domish.Element, domish.Element]:
        """A message to the proposal's peer with one ``<name id=sid/>`` (kept in the
        archive, XEP-0334, so an offline device sees the missed call): the message and
        that child."""
        message = build_message_element(ChatMessage(new_uid(), time.time(), client.jid, JID(proposal.peer),
                                                    {}, {}, "chat"))
        child = message.addElement((NS_JINGLE_MESSAGE, name))
        child["id"] = proposal.sid
        message.addElement((NS_HINTS, "store"))
        return message, child

    def _emit_state(self, proposal: Proposal, state: str, reason: str) -> None:
        self.host.bridge.emit("CallState", proposal.sid, state, reason, proposal.profile)
