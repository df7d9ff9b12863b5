"""XEP-0353 Jingle Message Initiation (v0.8.0, namespace ``urn:xmpp:jingle-message:0``).

A call to a bare JID cannot pick a device: we send a ``<propose/>`` message to the bare
JID, so that the server hands it to every device of the callee; the device that answers
sends ``<proceed/>`` from its full JID, and only then does the Jingle session start, with
a ``session-initiate`` to that device (XEP-0167's path, :meth:`Calls.initiate`). Until
then the call is a *proposal*, kept in memory, bounded per profile.

As callee, a contact's ``<propose/>`` is answered ``<ringing/>`` and shown to frontends
(``CallProposed``); ``CallAnswer(sid, "")`` sends ``<proceed/>`` and the caller's
``session-initiate`` follows (``CallIncoming`` with the SDP), ``CallEnd`` sends
``<reject/>``. Our other device's ``<proceed/>`` or ``<reject/>``, copied to us by
carbons (XEP-0280), stops the ringing here: "answered elsewhere", "rejected elsewhere".

Either way a proposal rings at most ``[calls] ring_timeout`` seconds: ours is then
retracted, a contact's stops ringing here (reason ``timeout``). ``<retract/>``,
``<reject/>`` and ``<finish/>`` carry a XEP-0166 ``<reason/>`` (a MUST since v0.7.0),
and a reason a contact gives is the one ``CallState`` reports. A session that followed a
proposal is announced over with ``<finish/>`` by both sides (§3.6). A proposal that never
became a session is kept in history (unanswered, missed, rejected, elsewhere).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import Conflict, ProfileNotConnected
from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import ChatMessage, build_message_element, new_uid
from sat_backend.plugins.jingle.call_history import EndedCall, call_entry
from sat_backend.plugins.jingle.lazy import actions
from sat_backend.plugins.jingle.namespaces import NS_JINGLE, NS_JINGLE_RTP
from sat_backend.plugins.jingle.ring_timers import RingTimers

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.plugins.jingle.message_handler import JingleMessageHandler
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.jingle.model import SessionDescription

log = logging.getLogger(__name__)

NS_JINGLE_MESSAGE = "urn:xmpp:jingle-message:0"
NS_HINTS = "urn:xmpp:hints"
#: proposals a profile may have waiting for an answer at once
MAX_PROPOSALS = 8
#: the XEP-0353 elements (§3); any other child of a message, or one of these names in
#: another namespace, is not a Jingle message
JINGLE_MESSAGE_ELEMENTS = frozenset({"propose", "ringing", "proceed", "reject", "retract", "finish"})
#: what our other device's message means for a proposal ringing here
ELSEWHERE = {"proceed": "answered elsewhere", "reject": "rejected elsewhere"}
MEDIA_KINDS = ("audio", "video")
#: descriptions a proposal may carry (the converter's bound on media sections)
MAX_MEDIA = 32
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
    own_jid: str
    ringing: bool = False
    started_at: float = field(default_factory=time.time)

    def ended(self) -> EndedCall:
        return EndedCall(self.sid, True, self.own_jid, self.peer, tuple(m.kind for m in self.offer.media),
                         self.started_at)


@dataclass(frozen=True)
class IncomingProposal:
    """A contact's proposal ringing here: ``caller`` is its full JID."""

    profile: str
    sid: str
    caller: str
    media: tuple[str, ...]
    own_jid: str
    started_at: float = field(default_factory=time.time)

    def ended(self) -> EndedCall:
        return EndedCall(self.sid, False, self.own_jid, self.caller, self.media, self.started_at)


def jingle_message_children(message: domish.Element) -> list[domish.Element]:
    """The XEP-0353 children of ``message``, by namespace *and* name: domish's
    ``elements(uri)`` without a name yields every child whatever its namespace, which
    once made a ``<propose/>`` of any namespace ring."""
    return [child for child in message.children if isinstance(child, domish.Element)
            and child.uri == NS_JINGLE_MESSAGE and child.name in JINGLE_MESSAGE_ELEMENTS]


class JingleMessageInitiation:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.proposals: dict[tuple[str, str], Proposal] = {}
        self.incoming: dict[tuple[str, str], IncomingProposal] = {}
        #: contacts' proposals we proceeded with, waiting for their session-initiate:
        #: (profile, sid) → the caller's bare JID (bounded: the oldest is forgotten)
        self.proceeded: dict[tuple[str, str], str] = {}
        self.timers = RingTimers(lambda: host.sessions.reactor, lambda: host.config.ring_timeout)

    async def initialise(self) -> None:
        self.host.plugins["XEP-0030"].add_feature(NS_JINGLE_MESSAGE)
        self.host.bridge.enable_signal("CallProposed")
        self.host.sessions.add_handler_factory(self._make_handler)

    def _make_handler(self, client: XmppClient) -> JingleMessageHandler:
        from sat_backend.plugins.jingle.message_handler import JingleMessageHandler  # issue 14: at the first connection

        return JingleMessageHandler(self, client)

    def propose(self, client: XmppClient, peer: JID, sid: str, offer: SessionDescription) -> None:
        """Send ``<propose/>`` for ``offer`` to the bare JID ``peer``; withdrawn
        (``timeout``) if no device proceeds within the ring timeout.

        :raises Conflict: the profile has :data:`MAX_PROPOSALS` proposals waiting.
        :raises ProfileNotConnected: the stream is gone.
        """
        if sum(1 for profile, _ in self.proposals if profile == client.profile) >= MAX_PROPOSALS:
            raise Conflict("too many calls waiting for an answer; end one first")
        proposal = Proposal(client.profile, sid, peer.userhost(), offer, client.jid.full())
        message, propose = self._jingle_message(client, proposal.peer, sid, "propose")
        for media in offer.media:  # XEP-0353 §3.1: the media, in the offer's order
            propose.addElement((NS_JINGLE_RTP, "description"))["media"] = media.kind
        client.send_stanza(message)
        self.proposals[(client.profile, sid)] = proposal
        self.timers.start(client.profile, sid, lambda: self._withdraw(client, sid, "timeout"))

    def end(self, client: XmppClient, sid: str, reason: str = "") -> bool:
        """Withdraw our proposal ``sid`` (``<retract/>``, ``cancel`` by default) or refuse
        the contact's (``<reject/>``, ``decline`` by default); False when there is no
        proposal ``sid``."""
        if (client.profile, sid) in self.proposals:
            self._withdraw(client, sid, reason or "cancel")
            return True
        incoming = self._take_incoming(client.profile, sid)
        if incoming is None:
            return False
        self._close(incoming, reason or "decline")
        self._send_quietly(client, incoming.caller, sid, "reject", reason or "decline")
        return True

    def proceed(self, client: XmppClient, sid: str) -> bool:
        """Take the contact's proposal ``sid`` on this device (``<proceed/>``); False
        when there is none. The caller's ``session-initiate`` follows."""
        incoming = self._take_incoming(client.profile, sid)
        if incoming is None:
            return False
        client.send_stanza(self._jingle_message(client, incoming.caller, sid, "proceed")[0])
        if len(self.proceeded) >= MAX_PROPOSALS * 4:
            del self.proceeded[next(iter(self.proceeded))]
        self.proceeded[(client.profile, sid)] = JID(incoming.caller).userhost()
        return True

    def take_proceeded(self, profile: str, sid: str, sender: str) -> bool:
        """Whether the ``session-initiate`` of ``sid`` from ``sender`` follows a proposal
        we proceeded with (its end is then announced with ``<finish/>``)."""
        caller = self.proceeded.get((profile, sid))
        if caller is None or caller != JID(sender).userhost():
            return False
        del self.proceeded[(profile, sid)]
        return True

    def finish(self, profile: str, sid: str, peer: str, reason: str) -> None:
        """Tell the other party's devices (and ours, by carbons) that the session begun
        by proposal ``sid`` is over (``<finish/>``, XEP-0353 §3.6); nothing when our
        stream is gone."""
        try:
            client = self.host.sessions.get_client(profile)
        except ProfileNotConnected:
            return
        self._send_quietly(client, JID(peer).userhost(), sid, "finish", reason)

    def on_our_other_device(self, client: XmppClient, child: domish.Element) -> None:
        sid = child.getAttribute("id") or ""
        if child.name in ELSEWHERE and (client.profile, sid) in self.incoming:
            incoming = self._take_incoming(client.profile, sid)
            assert incoming is not None
            self._close(incoming, ELSEWHERE[child.name])

    async def _on_propose(self, client: XmppClient, caller: JID, sid: str, propose: domish.Element) -> None:
        """A contact's proposal rings here, until the ring timeout (a stranger's is
        ignored, as its ``session-initiate`` would be declined, unless the profile's
        ``Calls/AcceptStrangers`` param allows it)."""
        media = tuple(description.getAttribute("media") or "" for description in propose.elements(NS_JINGLE_RTP, "description"))
        if not 0 < len(media) <= MAX_MEDIA or not set(media) <= set(MEDIA_KINDS) or not caller.resource or not sid \
                or (client.profile, sid) in self.incoming:
            return
        if not await self.host.plugins["XEP-0167"].accepts_caller(client.profile, caller.userhost()):
            log.info("%s: ignored a call proposal from %s, who is not in the roster", client.profile, caller.userhost())
            return
        if sum(1 for profile, _ in self.incoming if profile == client.profile) >= MAX_PROPOSALS:
            log.info("%s: too many call proposals ringing, one from %s is ignored", client.profile, caller.userhost())
            return
        incoming = IncomingProposal(client.profile, sid, caller.full(), media, client.jid.full())
        self.incoming[(client.profile, sid)] = incoming
        self.timers.start(client.profile, sid, lambda: self._stop_ringing(client.profile, sid, "timeout"))
        self.host.bridge.emit("CallProposed", sid, caller.full(), list(media), client.profile)
        self._send_quietly(client, caller.full(), sid, "ringing")

    def _withdraw(self, client: XmppClient, sid: str, reason: str) -> None:
        """End our proposal ``sid`` and tell the callee's devices (``<retract/>``)."""
        proposal = self._take_proposal(client.profile, sid)
        if proposal is not None:
            self._close(proposal, reason)
            self._send_quietly(client, proposal.peer, sid, "retract", reason)

    def _stop_ringing(self, profile: str, sid: str, reason: str) -> None:
        """A contact's proposal stops ringing here, nothing sent (its caller retracted,
        or it rang past the ring timeout: the caller's own timeout ends it there)."""
        incoming = self._take_incoming(profile, sid)
        if incoming is not None:
            self._close(incoming, reason)

    def describe(self, profile: str, sid: str) -> tuple[str, SessionDescription | None, tuple[str, ...]] | None:
        """A proposal still ringing, ours or a contact's: (peer, our offer or None, media
        kinds); None when there is none ``sid``."""
        proposal = self.proposals.get((profile, sid))
        if proposal is not None:
            return proposal.peer, proposal.offer, tuple(media.kind for media in proposal.offer.media)
        incoming = self.incoming.get((profile, sid))
        return None if incoming is None else (incoming.caller, None, incoming.media)

    def _take_proposal(self, profile: str, sid: str) -> Proposal | None:
        self.timers.cancel(profile, sid)
        return self.proposals.pop((profile, sid), None)

    def _take_incoming(self, profile: str, sid: str) -> IncomingProposal | None:
        self.timers.cancel(profile, sid)
        return self.incoming.pop((profile, sid), None)

    def _close(self, proposal: Proposal | IncomingProposal, reason: str) -> None:
        """A proposal that never became a session is over: ``CallState(ended)``, and an
        entry in history (unanswered, missed, rejected, elsewhere)."""
        self._emit(proposal.profile, proposal.sid, "ended", reason)
        entry = call_entry(proposal.ended(), reason, time.time())
        run_in_background(self.host.plugins["XEP-0167"].record_call(proposal.profile, entry),
                          f"{proposal.profile}: storing a call proposal in history", proposal.profile)

    def _send_quietly(self, client: XmppClient, to: str, sid: str, name: str, reason: str | None = None) -> None:
        """Send ``<name id=sid/>`` (with a ``<reason/>`` when given); a stream gone
        meanwhile is only logged (the proposal is over on our side either way)."""
        try:
            client.send_stanza(self._jingle_message(client, to, sid, name, reason)[0])
        except ProfileNotConnected:
            log.info("%s: stream gone before a <%s/> could be sent", client.profile, name)

    def on_jingle_message(self, client: XmppClient, sender: str | None, child: domish.Element) -> None:
        """Act on a contact's ``<propose/>`` or ``<retract/>``, or on a ``<ringing/>``,
        ``<proceed/>`` or ``<reject/>`` about one of our proposals."""
        sid = child.getAttribute("id") or ""
        if not sender or len(sid) > MAX_SID_LENGTH:
            return
        try:
            device = JID(sender)
        except Exception:  # noqa: BLE001 - the server checks "from"; never trust it to
            return
        if child.name == "propose":
            run_in_background(self._on_propose(client, device, sid, child), f"{client.profile}: a call proposal",
                              client.profile)
            return
        incoming = self.incoming.get((client.profile, sid))
        if child.name == "retract" and incoming is not None and JID(incoming.caller).userhost() == device.userhost():
            self._stop_ringing(client.profile, sid, actions.parse_reason(child) or "cancel")
            return
        proposal = self.proposals.get((client.profile, sid))
        if proposal is None or device.userhost() != proposal.peer:
            log.debug("%s: ignored a Jingle message <%s/> about no proposal of ours", client.profile, child.name)
            return
        if child.name == "ringing":
            if not proposal.ringing:
                proposal.ringing = True
                self._emit(proposal.profile, sid, "ringing", "")
        elif child.name == "proceed" and device.resource:
            self._take_proposal(client.profile, sid)
            run_in_background(self._initiate(client, proposal, device.full()),
                              f"{client.profile}: starting a proposed call", client.profile)
        elif child.name == "reject":
            self._take_proposal(client.profile, sid)
            self._close(proposal, actions.parse_reason(child) or "decline")

    def on_stream_lost(self, profile: str) -> None:
        for _, sid in [key for key in self.proposals if key[0] == profile]:
            proposal = self._take_proposal(profile, sid)
            assert proposal is not None
            self._close(proposal, "connectivity-error")
        for _, sid in [key for key in self.incoming if key[0] == profile]:
            self._stop_ringing(profile, sid, "connectivity-error")
        for key in [key for key in self.proceeded if key[0] == profile]:
            del self.proceeded[key]

    async def _initiate(self, client: XmppClient, proposal: Proposal, device: str) -> None:
        """The device proceeded: start the Jingle session with it, if the profile has
        room for one more call (proposals are bounded apart from calls)."""
        calls = self.host.plugins["XEP-0167"]
        if not calls.has_room(client.profile):
            self._close(proposal, "busy")
            self._send_quietly(client, proposal.peer, proposal.sid, "retract", "busy")
            return
        try:
            await calls.initiate(client, proposal.sid, device, proposal.offer, announce=not proposal.ringing,
                                 via_proposal=True)
        except Exception as exc:  # noqa: BLE001 - refused, timed out or stream lost: the call is over
            log.info("%s: the device that proceeded refused the session-initiate: %s", client.profile, exc)
            self._close(proposal, "connectivity-error")

    @staticmethod
    def _jingle_message(client: XmppClient, to: str, sid: str, name: str,
                        reason: str | None = None) -> tuple[domish.Element, domish.Element]:
        """A message to ``to`` with one ``<name id=sid/>``, and a XEP-0166 ``<reason/>``
        when given (a MUST in retract, reject and finish since XEP-0353 v0.7.0); kept in
        the archive (XEP-0334), so an offline device sees the missed call: the message
        and that child."""
        message = build_message_element(ChatMessage(new_uid(), time.time(), client.jid, JID(to), {}, {}, "chat"))
        child = message.addElement((NS_JINGLE_MESSAGE, name))
        child["id"] = sid
        if reason is not None:
            child.addElement((NS_JINGLE, "reason")).addElement(reason)
        message.addElement((NS_HINTS, "store"))
        return message, child

    def _emit(self, profile: str, sid: str, state: str, reason: str) -> None:
        self.host.bridge.emit("CallState", sid, state, reason, profile)
