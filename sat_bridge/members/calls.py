"""Members of audio/video calls (XEP-0166 Jingle sessions with XEP-0167 RTP media), on
the plugin interface. The backend signals; a frontend's WebRTC engine owns the media and
speaks SDP (see ``doc/calls.rst``)."""

from __future__ import annotations

from sat_bridge.members.core import JID_LENGTH, PROFILE
from sat_bridge.spec import Arg, Member, Method, Signal

#: a Jingle session id, as the backend makes them (peers' are bounded by the same)
SID_LENGTH = 256
SID = Arg("sid", "s", "the call's Jingle session id", max_length=SID_LENGTH)
CANDIDATES = Arg(
    "candidates", "a{sas}",
    "ICE candidates by mid: ``{mid: [\"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\", …]}`` "
    "(RFC 8839 attribute values; the ``candidate:`` prefix is optional)",
    content=True,
)

CALL_MEMBERS: tuple[Member, ...] = (
    Method(
        "CallStart", "plugin",
        (Arg("peer_jid", "s", "full JID of the device to call, or bare JID to ring all the "
             "callee's devices (XEP-0353)", max_length=JID_LENGTH),
         Arg("sdp_offer", "s", "the frontend's SDP offer; its media order is kept end to end", content=True),
         PROFILE),
        "s",
        "Call a peer: the offer goes in a Jingle ``session-initiate``; returns once the peer "
        "acknowledged it, with ``CallState(sid, \"ringing\", …)``. To a bare JID, returns once a "
        "XEP-0353 ``<propose/>`` is sent: ``CallState(sid, \"ringing\", …)`` when a device "
        "rings, ``CallAnswered`` when the one that proceeded accepts; ``CallEnd`` retracts it. ``InvalidArgument`` for a "
        "malformed SDP or JID, ``NotSupported`` when the peer does not advertise Jingle RTP "
        "over ICE-UDP, ``Conflict`` when the profile has too many calls open (or 8 proposals waiting), ``Stanza`` when "
        "the peer refuses.",
        out_doc="the call's session id",
    ),
    Method(
        "CallAnswer", "plugin",
        (SID, Arg("sdp_answer", "s", "the frontend's SDP answer to the offer of ``CallIncoming``",
                  content=True), PROFILE),
        "",
        "Accept an incoming call with an SDP answer (sent in the offer's media order); "
        "to take a ``CallProposed`` call on this device, ``\"\"`` (XEP-0353 ``<proceed/>``); "
        "``CallState(sid, \"active\", …)`` follows. ``NotFound`` for an unknown sid, "
        "``Conflict`` for a call that is ours or already answered, ``InvalidArgument`` for a "
        "malformed answer or one that does not match the offer.",
    ),
    Method(
        "CallEnd", "plugin",
        (SID, Arg("reason", "s",
                  "XEP-0166 reason: ``success``, ``decline``, ``busy``, ``cancel``… "
                  "or ``\"\"`` (``success`` for an active call, else ``cancel``/``decline``)",
                  max_length=64),
         PROFILE),
        "",
        "Hang up, cancel or decline a call: the peer gets a ``session-terminate``, and "
        "``CallState(sid, \"ended\", reason)`` is emitted. ``NotFound`` for an unknown sid.",
    ),
    Method(
        "CallGet", "plugin",
        (SID, PROFILE),
        "(sssas)",
        "A call still open, for a frontend started after it began (the tray's Answer starts "
        "``sat call answer --sid``): ``(peer_jid, state, sdp_offer, media)``. ``state`` is "
        "``proposed`` (a XEP-0353 proposal, not a Jingle session yet: ours, or a contact's "
        "ringing us, taken with ``CallAnswer(sid, \"\")``), ``ringing`` or ``active``; "
        "``sdp_offer`` is the call's offer (``CallIncoming``'s for a call to us; ``\"\"`` for a "
        "contact's proposal, which has none yet). ``NotFound`` for an unknown or ended sid.",
        out_doc="(peer's full JID (a bare JID for our proposal), state, offer as SDP, media kinds in order)",
    ),
    Method(
        "CallCandidatesAdd", "plugin",
        (SID, CANDIDATES, PROFILE),
        "",
        "Trickle our ICE candidates to the peer (a Jingle ``transport-info``). ``NotFound`` "
        "for an unknown sid, ``InvalidArgument`` for a malformed candidate, a mid the call "
        "does not have, or more than 200 candidates in a call.",
    ),
    Signal(
        "CallIncoming", "plugin",
        (SID, Arg("peer_jid", "s", "the caller's full JID"),
         Arg("sdp_offer", "s", "the caller's offer as SDP, media in the order of its Jingle contents"),
         Arg("media", "as", "the media kinds offered, in order (``audio``, ``video``)"), PROFILE),
        "A contact calls (strangers are declined). Answer with ``CallAnswer``, or refuse "
        "with ``CallEnd(sid, \"decline\")``.",
    ),
    Signal(
        "CallProposed", "plugin",
        (SID, Arg("peer_jid", "s", "the caller's full JID"),
         Arg("media", "as", "the media kinds proposed, in order (``audio``, ``video``)"), PROFILE),
        "A contact rings all our devices (XEP-0353), before any SDP: ``CallAnswer(sid, \"\")`` "
        "takes the call on this device (``CallIncoming`` with the offer follows, answered with "
        "``CallAnswer(sid, sdp)``), ``CallEnd(sid, \"\")`` rejects it. ``CallState(sid, \"ended\", "
        "reason)`` when it stops ringing: ``cancel`` (the caller retracted), ``answered elsewhere`` "
        "or ``rejected elsewhere`` (another of our devices took or refused it).",
    ),
    Signal(
        "CallAnswered", "plugin",
        (SID, Arg("sdp_answer", "s", "the peer's answer as SDP, in our offer's media order"), PROFILE),
        "The peer accepted our call; give the answer to the media engine.",
    ),
    Signal(
        "CallCandidates", "plugin",
        (SID, Arg("candidates", "a{sas}", "the peer's ICE candidates by mid (``candidate:…`` values)"), PROFILE),
        "The peer trickled ICE candidates.",
    ),
    Signal(
        "CallState", "plugin",
        (SID, Arg("state", "s", "``ringing``, ``active`` or ``ended``"),
         Arg("reason", "s", "with ``ended``, the XEP-0166 reason (``success``, ``decline``, "
             "``busy``, ``connectivity-error``…); else ``\"\"``"), PROFILE),
        "A call changed state.",
    ),
)
