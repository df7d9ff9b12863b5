"""The Jingle sessions a backend has open, per profile, bounded.

A peer can open sessions and trickle candidates at will: both are counted here, so that
neither a flood of ``session-initiate`` nor endless ``transport-info`` grows memory
without bound. Nothing is stored on disk: a session lives as long as its call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sat_backend.core.exceptions import InvalidArgument, NotFound
from sat_backend.plugins.jingle.senders import Role

if TYPE_CHECKING:
    from sat_backend.plugins.jingle.model import SessionDescription

#: calls open at once for one profile (ringing or active, either direction)
MAX_SESSIONS_PER_PROFILE = 8
#: candidates one side may trickle in one session (a browser gathers a few per network
#: interface and media section; 100 a section is the SDP bound)
MAX_SESSION_CANDIDATES = 200

CallState = Literal["ringing", "active"]


@dataclass
class CallSession:
    """One call: who, which role we play, the offer (the order every answer keeps) and
    our own description (its ICE credentials go with each trickled candidate)."""

    profile: str
    sid: str
    peer: str
    role: Role
    offer: SessionDescription
    local: SessionDescription | None
    #: our full JID in the call (history names both parties)
    own_jid: str
    state: CallState = "ringing"
    started_at: float = field(default_factory=time.time)
    answered_at: float | None = None
    candidates: dict[str, int] = field(default_factory=lambda: {"sent": 0, "received": 0})
    #: the session follows a XEP-0353 proposal: its end is announced with ``<finish/>``
    via_proposal: bool = False

    @property
    def creator(self) -> Role:
        """Every content of a call is created by its initiator (XEP-0166 §7.3)."""
        return "initiator"

    def activate(self) -> None:
        """The call is answered: media may flow, its duration starts."""
        self.state = "active"
        self.answered_at = time.time()

    def count_candidates(self, direction: Literal["sent", "received"], number: int) -> None:
        """Count ``number`` more candidates ``direction``.

        :raises InvalidArgument: more than :data:`MAX_SESSION_CANDIDATES` in the session.
        """
        if self.candidates[direction] + number > MAX_SESSION_CANDIDATES:
            raise InvalidArgument(f"more than {MAX_SESSION_CANDIDATES} candidates {direction} in one call")
        self.candidates[direction] += number


class CallTable:
    """Open calls by profile and sid."""

    def __init__(self) -> None:
        self._sessions: dict[str, dict[str, CallSession]] = {}

    def has_room(self, profile: str) -> bool:
        """Whether ``profile`` may open (or accept) one more call."""
        return len(self._sessions.get(profile, {})) < MAX_SESSIONS_PER_PROFILE

    def add(self, session: CallSession) -> None:
        self._sessions.setdefault(session.profile, {})[session.sid] = session

    def get(self, profile: str, sid: str) -> CallSession | None:
        return self._sessions.get(profile, {}).get(sid)

    def require(self, profile: str, sid: str) -> CallSession:
        """:raises NotFound: no open call ``sid`` for ``profile`` (the sid is not echoed
        past its first 64 characters)."""
        session = self.get(profile, sid)
        if session is None:
            raise NotFound(f"no open call with session id {sid[:64]!r}")
        return session

    def remove(self, session: CallSession) -> bool:
        """Forget ``session``; False when it was already gone (ended by the other side)."""
        return self._sessions.get(session.profile, {}).pop(session.sid, None) is not None

    def of_profile(self, profile: str) -> list[CallSession]:
        """Every open call of ``profile`` (a copy: ending them changes the table)."""
        return list(self._sessions.get(profile, {}).values())
