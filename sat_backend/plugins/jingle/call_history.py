"""A call as a history entry: a message without body whose ``extra.call`` says what
happened, so frontends list calls among the messages of a conversation and
``HistoryGet`` filters need nothing new.

``extra.call``: ``sid``; ``direction`` ``outgoing`` or ``incoming``; ``state``
``answered``, ``missed`` (incoming, never answered) or ``unanswered`` (outgoing, never
answered); ``reason`` (XEP-0166, how it ended); ``duration`` (seconds from the answer to
the end, 0 when not answered); ``media`` (the kinds offered, in order).
"""

from __future__ import annotations

import uuid
from typing import Any

from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.im.message_stanza import ChatMessage
from sat_backend.plugins.jingle.call_sessions import CallSession


def call_entry(session: CallSession, reason: str, ended_at: float) -> ChatMessage:
    """The history entry of ``session``, which ended at ``ended_at`` for ``reason``;
    from the caller to the callee, dated when the call started."""
    outgoing = session.role == "initiator"
    caller, callee = (session.own_jid, session.peer) if outgoing else (session.peer, session.own_jid)
    if session.answered_at is not None:
        state, duration = "answered", max(0.0, round(ended_at - session.answered_at, 3))
    else:
        state, duration = ("unanswered" if outgoing else "missed"), 0.0
    call: dict[str, Any] = {
        "sid": session.sid,
        "direction": "outgoing" if outgoing else "incoming",
        "state": state,
        "reason": reason,
        "duration": duration,
        "media": [media.kind for media in session.offer.media],
    }
    return ChatMessage(
        uid=str(uuid.uuid4()), timestamp=session.started_at, from_jid=JID(caller), to_jid=JID(callee),
        bodies={}, subjects={}, type="chat", extra={"call": call},
    )
