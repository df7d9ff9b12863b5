"""Reactions to our messages as notifications (XEP-0444, from the backend's
``ReactionsReceived`` signal): one notification per conversation, replaced as
reactions arrive, listing the last few ("👍 to “see you at 8”"); privacy mode says only
how many.

The text of the message reacted to is known when the tray saw it sent
(:class:`OwnTexts`); else the line says "to your message".
"""

from __future__ import annotations

import html
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sat_frontends.tray.notifications import SUMMARY_LENGTH, Content, GroupedNotifier, Key

#: the lines of reactions a notification lists (the most recent)
LINES_SHOWN = 5
#: characters of our message quoted in a line
EXCERPT_LENGTH = 60
#: emojis of one reaction shown in a line
EMOJIS_SHOWN = 8
#: our sent messages whose text the tray remembers, for the lines
OWN_TEXTS_KEPT = 200


def shorten(text: str, length: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


class OwnTexts:
    """The start of our recent messages' texts by uid (bounded: the oldest go first)."""

    def __init__(self, kept: int = OWN_TEXTS_KEPT) -> None:
        self.kept = kept
        self._texts: OrderedDict[str, str] = OrderedDict()

    def add(self, uid: str, text: str) -> None:
        self._texts[uid] = shorten(text, EXCERPT_LENGTH)
        self._texts.move_to_end(uid)
        while len(self._texts) > self.kept:
            self._texts.popitem(last=False)

    def get(self, uid: str) -> str:
        return self._texts.get(uid, "")


@dataclass(frozen=True)
class Reaction:
    """Someone's new reactions to one of our messages."""

    sender: str
    emojis: tuple[str, ...]
    #: the start of our message, "" when unknown
    excerpt: str


def reaction_line(reaction: Reaction) -> str:
    emojis = "".join(reaction.emojis[:EMOJIS_SHOWN])
    target = f"“{reaction.excerpt}”" if reaction.excerpt else "your message"
    return f"{emojis} to {target}"


def reactions_content(reactions: tuple[Reaction, ...], total: int, privacy: bool) -> Content:
    """Summary and body (escaped markup) for a conversation's recent reactions: the
    last :data:`LINES_SHOWN` of ``total``."""
    senders = list(dict.fromkeys(reaction.sender for reaction in reactions))
    summary = f"{', '.join(senders)} reacted to your message" + ("s" if total > 1 else "")
    if len(summary) > SUMMARY_LENGTH:
        summary = summary[: SUMMARY_LENGTH - 1] + "…"
    if privacy:
        body = "1 new reaction" if total == 1 else f"{total} new reactions"
    else:
        lines = [reaction_line(reaction) for reaction in reactions[-LINES_SHOWN:]]
        if total > len(lines):
            lines.insert(0, f"(and {total - len(lines)} more)")
        body = "\n".join(lines)
    return Content(summary, html.escape(body, quote=False))


Received = tuple[tuple[Reaction, ...], int]   # the last reactions, and how many there were


class ReactionNotifier(GroupedNotifier[Received]):
    """One notification per conversation for the reactions to our messages in it."""

    category = "im.received"
    counted = "reactions"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: reactions not dismissed yet, by conversation (forgotten when the notification goes)
        self.received: dict[Key, Received] = {}

    def reacted(self, key: Key, reaction: Reaction) -> None:
        """A reaction in the conversation ``key``: its notification is shown or updated."""
        if not reaction.emojis:
            return
        last, total = self.received.get(key, ((), 0))
        self.received[key] = ((last + (reaction,))[-LINES_SHOWN:], total + 1)
        self.update(key, self.received[key])

    def render(self, pending: Received) -> tuple[Content, int]:
        reactions, total = pending
        return reactions_content(reactions, total, self.privacy), total

    async def read(self, key: Key) -> None:
        self.received.pop(key, None)
        await super().read(key)

    def closed(self, notification_id: int) -> None:
        key = self.key_of(notification_id)
        if key is not None:
            self.received.pop(key, None)
        super().closed(notification_id)
