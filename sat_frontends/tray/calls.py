"""Incoming calls as notifications (the backend's ``CallIncoming`` and ``CallProposed``,
``doc/calls.rst``): "Incoming call from JID" with Answer and Decline, one notification
per call, closed as soon as the call stops ringing here (answered or refused on this
device or another, cancelled by the caller, timed out).

The tray has no media engine: Answer starts the call frontend the user chose
(:func:`answer_argv`, ``sat call answer --sid SID`` by default), Decline ends the call
through the bridge (``CallEnd(sid, "decline")``: the caller sees it rejected).
"""

from __future__ import annotations

import shlex
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from dbus_fast import Variant

from sat_frontends.tray.notifications import SUMMARY_LENGTH, Content, GroupedNotifier, Key

#: what Answer runs: ``{sid}``, ``{jid}`` (the caller's full JID) and ``{profile}`` are replaced
DEFAULT_ANSWER_COMMAND = "sat call answer --sid {sid} -p {profile}"
#: XEP-0353 proposals remembered, to know that the offer following one was taken here;
#: and ringing calls kept at most
PROPOSALS_KEPT = 64
#: how the notification server should show it: critical urgency stays until acted on
CRITICAL = 2


@dataclass(frozen=True)
class IncomingCall:
    """A call ringing for one of our profiles."""

    peer: str
    media: tuple[str, ...]


def call_content(call: IncomingCall) -> Content:
    """What a ringing call's notification says (privacy mode too: the caller is what
    the user must see to decide, and no text of theirs is shown)."""
    summary = f"Incoming call from {call.peer.split('/', 1)[0]}"
    if len(summary) > SUMMARY_LENGTH:
        summary = summary[: SUMMARY_LENGTH - 1] + "…"
    return Content(summary, "Video call" if "video" in call.media else "Audio call")


def answer_argv(command: str, sid: str, peer: str, profile: str) -> list[str]:
    """The answering frontend's command line (no shell: values are never parsed)."""
    values = {"{sid}": sid, "{jid}": peer, "{profile}": profile}
    argv = []
    for part in shlex.split(command):
        for placeholder, value in values.items():
            part = part.replace(placeholder, value)
        argv.append(part)
    return argv


class CallNotifier(GroupedNotifier[IncomingCall]):
    """One notification per ringing call, keyed ``(profile, sid)``; never rate-limited."""

    category = "x-salutatoi.call.incoming"
    counted = "ringing"
    min_interval = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ringing: dict[Key, IncomingCall] = {}
        self._proposals: OrderedDict[Key, None] = OrderedDict()

    def actions(self) -> list[str]:
        return ["answer", "Answer", "decline", "Decline"]

    def hints(self) -> dict[str, Variant]:
        return {**super().hints(), "urgency": Variant("y", CRITICAL)}

    def render(self, pending: IncomingCall) -> tuple[Content, int]:
        return call_content(pending), 1

    def proposed(self, key: Key, call: IncomingCall) -> None:
        """A XEP-0353 proposal rings every device of ours, this one too."""
        self._proposals[key] = None
        while len(self._proposals) > PROPOSALS_KEPT:
            self._proposals.popitem(last=False)
        self._ring(key, call)

    def incoming(self, key: Key, call: IncomingCall) -> bool:
        """A Jingle offer: a new call rings; the offer of a proposal means one of our
        frontends took it on this device (returns False: nothing rings)."""
        if key in self._proposals:
            del self._proposals[key]
            return False
        self._ring(key, call)
        return True

    def _ring(self, key: Key, call: IncomingCall) -> None:
        self.ringing[key] = call
        # bounded: a call whose end we missed (the backend restarted while it rang) goes
        for stale in list(self.ringing)[:-PROPOSALS_KEPT]:
            self.run(self.read(stale))
        self.update(key, call)

    async def read(self, key: Key) -> None:
        """The call stopped ringing here (answered, declined): its notification goes."""
        self.ringing.pop(key, None)
        await super().read(key)

    async def ended(self, key: Key) -> None:
        """The call is over (or ringing elsewhere only): nothing more will come of it."""
        self._proposals.pop(key, None)
        await self.read(key)
