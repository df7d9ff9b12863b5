"""Whether a room message mentions us: decided once, in the backend, where our nick in
the room is known, so that every frontend notifies the same messages (``extra.mention``
of ``groupchat`` messages in ``MessageNew`` and history).

A message mentions us when someone else wrote it and either its text names our room
nick as a whole word (case-insensitive; a nick may hold spaces or punctuation), or it
carries a XEP-0372 (References, v0.2) ``type='mention'`` reference to our occupant JID
(``room@service/nick``) or to our bare JID. Pure functions: tested without a room.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote

#: a nick is looked for in this many characters of a body at most (bodies are bounded
#: by the core, at 100,000 characters; a mention is near the start in practice)
MAX_SCANNED = 100_000


@lru_cache(maxsize=256)
def _nick_pattern(nick: str) -> re.Pattern[str]:
    """``nick`` as a word: not preceded nor followed by a letter, digit or ``_`` (so
    "ann" is not found in "Joanna", but is in "@ann:" and "Ann,")."""
    return re.compile(rf"(?<!\w){re.escape(nick)}(?!\w)", re.IGNORECASE)


def names_nick(text: str, nick: str) -> bool:
    """Whether ``text`` names ``nick`` as a whole word, ignoring case."""
    nick = nick.strip()
    if not nick or not text:
        return False
    return _nick_pattern(nick).search(text, 0, MAX_SCANNED) is not None


def reference_target(uri: str) -> str:
    """The JID a XEP-0372 reference ``uri`` names (``xmpp:room@service/nick?…``, RFC 5122:
    percent-encoded), compared case-insensitively before the resource; "" for another
    scheme."""
    if not uri.startswith("xmpp:"):
        return ""
    address = unquote(uri[len("xmpp:"):].lstrip("/").partition("?")[0])
    bare, slash, resource = address.partition("/")
    return bare.lower() + slash + resource


def mentions_us(*, texts: Iterable[str], sender_nick: str, own_nick: str, references: Iterable[str],
                own_occupant: str, own_bare: str) -> bool:
    """Whether a room message mentions us.

    :param texts: the message's bodies (every language).
    :param sender_nick: its author's nick ("" for the room itself).
    :param own_nick: our nick in the room.
    :param references: the ``uri`` of its XEP-0372 mention references.
    :param own_occupant: our occupant JID, ``room@service/nick``.
    :param own_bare: our bare JID.
    """
    if not sender_nick or sender_nick == own_nick:
        return False  # our own messages (from any of our devices) and the room's never do
    targets = {reference_target(f"xmpp:{own_occupant}"), reference_target(f"xmpp:{own_bare}")}
    if any(reference_target(uri) in targets for uri in references):
        return True
    return any(names_nick(text, own_nick) for text in texts)
