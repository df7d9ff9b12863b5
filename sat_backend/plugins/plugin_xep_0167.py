"""XEP-0167 Jingle RTP Sessions (v1.2.3) over XEP-0176 ICE-UDP (v1.1.1): the signalling
of audio/video calls between a frontend's SDP and a peer's Jingle.

The frontend's media engine speaks SDP through the bridge (``CallStart``, ``CallAnswer``,
``CallCandidatesAdd``, ``CallEnd``; signals ``CallIncoming``, ``CallAnswered``,
``CallCandidates``, ``CallState``); this plugin converts with :mod:`.jingle` and keeps the
offer of each call, so that every answer, ours or the peer's, comes back in the offer's
media order (the rule BUNDLE calls rest on). Sessions live in memory only, bounded by
:mod:`.jingle.call_sessions`; the Jingle IQs themselves are answered by XEP-0166's plugin.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import Conflict, InvalidArgument, NotFound, NotSupported
from sat_backend.core.im.background import run_in_background
from sat_backend.core.jids import parse_jid
from sat_backend.core.params import ParamDefinition
from sat_backend.core.im.message_stanza import ChatMessage
from sat_backend.plugins.jingle.call_history import call_entry
from sat_backend.plugins.jingle.call_sessions import CallSession, CallTable
from sat_backend.plugins.jingle.lazy import actions, jingle_xml, order, sdp
from sat_backend.plugins.jingle.lazy import candidates as candidate_lines
from sat_backend.plugins.jingle.namespaces import (
    NS_JINGLE,
    NS_JINGLE_DTLS,
    NS_JINGLE_GROUPING,
    NS_JINGLE_ICE_UDP,
    NS_JINGLE_RTCP_FB,
    NS_JINGLE_RTP,
    NS_JINGLE_RTP_HDREXT,
    NS_JINGLE_SSMA,
)
from sat_backend.plugins.jingle.ring_timers import RingTimers
from sat_backend.plugins.plugin_xep_0166 import JingleRefused

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.jingle.model import Candidate, SessionDescription

log = logging.getLogger(__name__)

NS_JINGLE_RTP_AUDIO = "urn:xmpp:jingle:apps:rtp:audio"
NS_JINGLE_RTP_VIDEO = "urn:xmpp:jingle:apps:rtp:video"
#: what a peer must advertise for us to call it
REQUIRED_FEATURES = frozenset({NS_JINGLE, NS_JINGLE_RTP, NS_JINGLE_ICE_UDP})
#: what we advertise (XEP-0167 §11, XEP-0176 §11, and the extensions the converter maps)
FEATURES = (NS_JINGLE_RTP, NS_JINGLE_RTP_AUDIO, NS_JINGLE_RTP_VIDEO, NS_JINGLE_ICE_UDP, NS_JINGLE_DTLS,
            NS_JINGLE_GROUPING, NS_JINGLE_SSMA, NS_JINGLE_RTCP_FB, NS_JINGLE_RTP_HDREXT)
#: XEP-0166 reason of a call whose peer went offline (its unavailable presence)
GONE_REASON = "gone"
SIGNALS = ("CallIncoming", "CallAnswered", "CallCandidates", "CallState")
#: off by default: a stranger's call would ring us, and our answer (even ``<ringing/>``)
#: tells them we are online (XEP-0353 §7)
ACCEPT_STRANGERS = ParamDefinition("Calls", "AcceptStrangers", "bool", "false",
                                   "Let people who are not in the roster call (and ring) this profile")

PLUGIN_INFO = {
    "name": "Jingle RTP calls",
    "import_name": "XEP-0167",
    "type": "XEP",
    "protocols": ["XEP-0167", "XEP-0176", "XEP-0320", "XEP-0338", "XEP-0339", "XEP-0293", "XEP-0294"],
    "dependencies": ["XEP-0030", "XEP-0166"],
    "main": "Calls",
    "description": "Audio/video call signalling: SDP from frontends, Jingle to peers, media order kept",
}


class Calls:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.jingle = host.plugins["XEP-0166"]
        self.table = CallTable()
        self.timers = RingTimers(lambda: host.sessions.reactor, lambda: host.config.ring_timeout)

    async def initialise(self) -> None:
        self.host.params_registry.declare(ACCEPT_STRANGERS)
        disco = self.host.plugins["XEP-0030"]
        for feature in FEATURES:
            disco.add_feature(feature)
        self.jingle.register(self)
        self.host.presence.unavailability_listeners.append(self.on_unavailable)
        register = self.host.bridge.register_method
        register("CallStart", self.start_call)
        register("CallAnswer", self.answer_call)
        register("CallEnd", self.end_call)
        register("CallGet", self.get_call)
        register("CallCandidatesAdd", self.add_candidates)
        for name in SIGNALS:
            self.host.bridge.enable_signal(name)

    # bridge methods ------------------------------------------------------------------

    async def start_call(self, peer_jid: str, sdp_offer: str, profile: str) -> str:
        """Call ``peer_jid``: a full JID gets a ``session-initiate`` (the sid once the peer
        acknowledged it); a bare JID a XEP-0353 proposal that rings all its devices."""
        peer = parse_jid(peer_jid, "peer_jid")
        jingle_message = self.host.plugins.get("XEP-0353")
        if not peer.user or (not peer.resource and jingle_message is None):
            raise InvalidArgument("peer_jid must be a user's JID (user@domain, or user@domain/resource for one device)")
        offer = sdp.parse_sdp(sdp_offer)
        client = await self._client(profile)
        if not self.table.has_room(client.profile):
            raise Conflict("too many calls open; end one first")
        sid = uuid.uuid4().hex
        if not peer.resource and jingle_message is not None:
            jingle_message.propose(client, peer, sid, offer)
            return sid
        info = await self.host.plugins["XEP-0030"].get_info(client, peer)
        if not REQUIRED_FEATURES <= info.features:
            raise NotSupported(f"{peer.full()} does not support Jingle audio/video calls")
        await self.initiate(client, sid, peer.full(), offer)
        return sid

    async def initiate(self, client: XmppClient, sid: str, peer: str, offer: SessionDescription,
                       announce: bool = True, via_proposal: bool = False) -> None:
        """Send ``session-initiate`` with ``offer`` to the full JID ``peer`` and await its
        acknowledgement; ``CallState(ringing)`` follows unless ``announce`` is False (a
        proposal already said it), and the call rings until the ring timeout.
        ``via_proposal``: the session follows a XEP-0353 proposal (its end is announced
        with ``<finish/>``)."""
        session = CallSession(client.profile, sid, peer, "initiator", offer, offer, client.jid.full(),
                              via_proposal=via_proposal)
        jingle = actions.build_jingle(actions.SESSION_INITIATE, session.sid, initiator=client.jid.full())
        for child in jingle_xml.build_jingle_children(offer, "initiator"):
            jingle.addChild(child)
        self.table.add(session)
        try:
            await self.jingle.send(client, session.peer, jingle)
        except BaseException:
            self.table.remove(session)
            raise
        if self._is_open(session) and session.state == "ringing":  # the peer may have ended it already
            self._ring(client, session)
            if announce:
                self._state(session, "ringing")

    async def answer_call(self, sid: str, sdp_answer: str, profile: str) -> None:
        """Send ``session-accept`` with the answer, in the offer's media order."""
        client = await self._client(profile)
        jingle_message = self.host.plugins.get("XEP-0353")
        if self.table.get(client.profile, sid) is None and jingle_message is not None \
                and jingle_message.proceed(client, sid):
            return  # a proposal: the caller's session-initiate follows
        session = self.table.require(client.profile, sid)
        if session.role != "responder" or session.local is not None:
            raise Conflict("this call is not waiting for our answer")
        answer = order.answer_in_offer_order(session.offer, sdp.parse_sdp(sdp_answer))
        jingle = actions.build_jingle(actions.SESSION_ACCEPT, sid, responder=client.jid.full())
        for child in jingle_xml.build_jingle_children(answer, "responder"):
            jingle.addChild(child)
        session.local = answer
        try:
            await self.jingle.send(client, session.peer, jingle)
        except BaseException:
            session.local = None
            raise
        if self._is_open(session):
            self._activate(session)

    async def end_call(self, sid: str, reason: str, profile: str) -> None:
        """Send ``session-terminate``; ended on our side whatever the peer says."""
        if reason and reason not in actions.REASONS:
            raise InvalidArgument("reason is not a XEP-0166 reason condition")
        client = await self._client(profile)
        jingle_message = self.host.plugins.get("XEP-0353")
        if self.table.get(client.profile, sid) is None and jingle_message is not None \
                and jingle_message.end(client, sid, reason):
            return
        session = self.table.require(client.profile, sid)
        if not reason:
            reason = "success" if session.state == "active" else ("cancel" if session.role == "initiator" else "decline")
        self._end(session, reason)
        await self.jingle.terminate_quietly(client, session.peer, sid, reason)

    async def get_call(self, sid: str, profile: str) -> tuple[str, str, str, list[str]]:
        """An open call or proposal: (peer, state, offer as SDP or "", media kinds)."""
        client = await self._client(profile)
        session = self.table.get(client.profile, sid)
        if session is not None:
            return (session.peer, session.state, sdp.serialise_sdp(session.offer),
                    [media.kind for media in session.offer.media])
        jingle_message = self.host.plugins.get("XEP-0353")
        proposed = jingle_message.describe(client.profile, sid) if jingle_message is not None else None
        if proposed is None:
            raise NotFound(f"no open call {sid!r}")
        peer, offer, media = proposed
        return peer, "proposed", sdp.serialise_sdp(offer) if offer is not None else "", list(media)

    async def add_candidates(self, sid: str, candidates: dict[str, list[str]], profile: str) -> None:
        """Send a ``transport-info`` with our candidates."""
        client = await self._client(profile)
        session = self.table.require(client.profile, sid)
        parsed: dict[str, tuple[Candidate, ...]] = {}
        for mid, lines in candidates.items():
            if mid not in session.offer.mids:
                raise InvalidArgument("a candidate's mid is not a media section of the call")
            parsed[mid] = tuple(candidate_lines.parse_candidate(line) for line in lines)
        if not any(parsed.values()):
            raise InvalidArgument("no candidate given")
        session.count_candidates("sent", sum(len(found) for found in parsed.values()))
        local = session.local or session.offer
        transports = {media.mid: media.transport.over(local.transport) for media in local.media}
        await self.jingle.send(client, session.peer, actions.build_transport_info(sid, session.creator, parsed, transports))

    # the XEP-0166 application ----------------------------------------------------------

    def session_peer(self, profile: str, sid: str) -> str | None:
        session = self.table.get(profile, sid)
        return None if session is None else session.peer

    def has_room(self, profile: str) -> bool:
        return self.table.has_room(profile)

    async def accepts_caller(self, profile: str, caller: str) -> bool:
        """Whether ``caller`` (a bare JID) may ring ``profile``: a contact, or anyone when
        the profile's ``Calls/AcceptStrangers`` param says so."""
        if await self.host.roster.get_contact(profile, caller) is not None:
            return True
        return await self.host.params.get_public(*ACCEPT_STRANGERS.key, profile) == "true"

    async def on_request(self, client: XmppClient, request: actions.JingleRequest, sender: str) -> None:
        if request.action == actions.SESSION_INITIATE:
            self._on_initiate(client, request, sender)
            return
        session = self.table.require(client.profile, request.sid)
        if request.action == actions.SESSION_ACCEPT:
            self._on_accept(session, request)
        elif request.action == actions.TRANSPORT_INFO:
            self._on_transport_info(session, request)
        elif request.action == actions.SESSION_TERMINATE:
            self._end(session, request.reason or "success")
        elif request.action != actions.SESSION_INFO:  # ringing, hold…: informational, acknowledged
            raise JingleRefused("feature-not-implemented")

    def on_stream_lost(self, profile: str) -> None:
        for session in self.table.of_profile(profile):
            self._end(session, "connectivity-error")

    def on_unavailable(self, client: XmppClient, presence: domish.Element) -> None:
        """A peer's device went offline: its calls (ringing or active) end with ``gone``
        on our side. Nothing is sent to it: it is not there to hear it."""
        try:
            sender = JID(presence.getAttribute("from") or "")
        except Exception:  # noqa: BLE001 - a JID the server let through but we cannot read
            return
        for session in self.table.of_profile(client.profile):
            if _is_device_of(session.peer, sender):
                log.info("%s: %s went offline, its call %s ends", client.profile, session.peer, session.sid)
                self._end(session, GONE_REASON)

    def _on_initiate(self, client: XmppClient, request: actions.JingleRequest, sender: str) -> None:
        if first_description(request) is None:
            raise JingleRefused("feature-not-implemented")  # not an RTP session
        offer = jingle_xml.parse_jingle(request.element, "initiator")
        if self.table.get(client.profile, request.sid) is not None:  # opened while the roster was read
            raise JingleRefused("conflict")
        if not self.table.has_room(client.profile):
            raise JingleRefused("resource-constraint")
        jingle_message = self.host.plugins.get("XEP-0353")
        via_proposal = jingle_message is not None and jingle_message.take_proceeded(client.profile, request.sid, sender)
        session = CallSession(client.profile, request.sid, sender, "responder", offer, None, client.jid.full(),
                              via_proposal=via_proposal)
        self.table.add(session)
        self.host.bridge.emit("CallIncoming", session.sid, sender, sdp.serialise_sdp(offer),
                              [media.kind for media in offer.media], session.profile)
        self._state(session, "ringing")
        self._ring(client, session)

    def _on_accept(self, session: CallSession, request: actions.JingleRequest) -> None:
        if session.role != "initiator" or session.state != "ringing":
            raise JingleRefused("unexpected-request", actions.out_of_order_condition())
        answer = order.answer_in_offer_order(session.offer, jingle_xml.parse_jingle(request.element, "responder"))
        self.host.bridge.emit("CallAnswered", session.sid, sdp.serialise_sdp(answer), session.profile)
        self._activate(session)

    def _on_transport_info(self, session: CallSession, request: actions.JingleRequest) -> None:
        found = actions.parse_transport_info(request.element)
        if not set(found) <= set(session.offer.mids):
            raise InvalidArgument("a transport-info names a content the call does not have")
        try:
            session.count_candidates("received", sum(len(candidates) for candidates in found.values()))
        except InvalidArgument:
            raise JingleRefused("resource-constraint") from None
        self.host.bridge.emit("CallCandidates", session.sid,
                              {mid: [candidate_lines.candidate_attribute(c) for c in candidates] for mid, candidates in found.items()},
                              session.profile)

    # helpers ---------------------------------------------------------------------------

    async def _client(self, profile: str) -> XmppClient:
        return self.host.sessions.get_client(await self.host.profiles.resolve(profile))

    def _is_open(self, session: CallSession) -> bool:
        return self.table.get(session.profile, session.sid) is session

    def _ring(self, client: XmppClient, session: CallSession) -> None:
        """The call rings until answered, or ends with ``timeout`` (the peer is told)."""
        def timed_out() -> None:
            if self._is_open(session) and session.state == "ringing":
                log.info("%s: call %s rang unanswered past the ring timeout", session.profile, session.sid)
                self._end(session, "timeout")
                run_in_background(self.jingle.terminate_quietly(client, session.peer, session.sid, "timeout"),
                                  f"{session.profile}: ending a call that rang too long", session.profile)

        self.timers.start(session.profile, session.sid, timed_out)

    def _activate(self, session: CallSession) -> None:
        self.timers.cancel(session.profile, session.sid)
        session.activate()
        self._state(session, "active")

    def _end(self, session: CallSession, reason: str) -> None:
        self.timers.cancel(session.profile, session.sid)
        if self.table.remove(session):
            self._emit_state(session, "ended", reason)
            jingle_message = self.host.plugins.get("XEP-0353")
            if session.via_proposal and jingle_message is not None:
                jingle_message.finish(session.profile, session.sid, session.peer, reason)
            run_in_background(self.record_call(session.profile, call_entry(session, reason, time.time())),
                              f"{session.profile}: storing a call in history", session.profile)

    async def record_call(self, profile: str, entry: ChatMessage) -> None:
        """Keep a call in history, as a message without body (``extra.call``), and
        announce it with ``MessageNew`` like any message."""
        if await self.host.storage.add_to_history(profile, entry.to_history()):
            self.host.bridge.emit("MessageNew", *entry.bridge_tuple(), profile)

    def _state(self, session: CallSession, state: str) -> None:
        self._emit_state(session, state, "")

    def _emit_state(self, session: CallSession, state: str, reason: str) -> None:
        self.host.bridge.emit("CallState", session.sid, state, reason, session.profile)


def first_description(request: actions.JingleRequest) -> domish.Element | None:
    """The first RTP ``<description/>`` of a request's contents, None when it has none."""
    for content in request.element.elements(NS_JINGLE, "content"):
        for description in content.elements(NS_JINGLE_RTP, "description"):
            return description
    return None


def _is_device_of(peer: str, sender: JID) -> bool:
    """Whether ``sender`` of an unavailable presence is the device ``peer`` (a full JID).

    A bare JID's unavailable presence is not enough: a server answers a presence probe
    so when no device of the account has sent presence yet, while one may be calling us
    already (seen with Prosody, a slixmpp peer calling right after logging in)."""
    return bool(sender.resource) and peer == sender.full()
