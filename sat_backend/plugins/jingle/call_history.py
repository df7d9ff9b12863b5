"""A call as a history entry: a message without body whose ``extra.call`` says what
happened, so frontends list calls among the messages of a conversation and
``HistoryGet`` filters need nothing new.

``extra.call``: ``sid``; ``direction`` ``outgoing`` or ``incoming``; ``state`` (see
:func:`call_state`): ``answered``, ``rejected``, ``missed`` (incoming, never answered),
``unanswered`` (outgoing, never answered) or ``elsewhere`` (answered on another of our
devices, XEP-0353); ``reason`` (XEP-0166, how it ended); ``duration`` (seconds from the
answer to the end, 0 when not answered); ``media`` (the kinds offered, in order).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.im.message_stanza import ChatMessage
from sat_backend.plugins.jingle.call_sessions import CallSession

#: reasons that mean one party refused the call (XEP-0166 §7.4, and our other device's)
REJECTED_REASONS = frozenset({"decline", "busy", "rejected elsewhere"})
ELSEWHERE_REASON = "answered elsewhere"


@dataclass(frozen=True)
class EndedCall:
    """What history keeps of a call, a Jingle session or a XEP-0353 proposal that never
    became one."""

    sid: str
    outgoing: bool
    own_jid: str
    peer: str
    media: tuple[str, ...]
    started_at: float
    answered_at: float | None = None

    @classmethod
    def of_session(cls, session: CallSession) -> EndedCall:
        return cls(session.sid, session.role == "initiator", session.own_jid, session.peer,
                   tuple(media.kind for media in session.offer.media), session.started_at, session.answered_at)


def call_state(outgoing: bool, answered: bool, reason: str) -> str:
    """The history state of a call that ended for ``reason``."""
    if answered:
        return "answered"
    if reason == ELSEWHERE_REASON:
        return "elsewhere"
    if reason in REJECTED_REASONS:
        return "rejected"
    return "unanswered" if outgoing else "missed"


def call_entry(call: EndedCall | CallSession, reason: str, ended_at: float) -> ChatMessage:
    """The history entry of ``call``, which ended at ``ended_at`` for ``reason``;
    from the caller to the callee, dated when the call started."""
    ended = call if isinstance(call, EndedCall) else EndedCall.of_session(call)
    caller, callee = (ended.own_jid, ended.peer) if ended.outgoing else (ended.peer, ended.own_jid)
    duration = 0.0 if ended.answered_at is None else max(0.0, round(ended_at - ended.answered_at, 3))
    entry: dict[str, Any] = {
        "sid": ended.sid,
        "direction": "outgoing" if ended.outgoing else "incoming",
        "state": call_state(ended.outgoing, ended.answered_at is not None, reason),
        "reason": reason,
        "duration": duration,
        "media": list(ended.media),
    }
    return ChatMessage(
        uid=str(uuid.uuid4()), timestamp=ended.started_at, from_jid=JID(caller), to_jid=JID(callee),
        bodies={}, subjects={}, type="chat", extra={"call": entry},
    )
