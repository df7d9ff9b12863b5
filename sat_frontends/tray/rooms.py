"""Room messages (XEP-0045 ``groupchat``) in the tray: which ones are notified.

Every room message counts as unread (the backend counts them, by room), but only those
that mention us are notified, unless the user asks for every room message
(``--room-messages all``). Whether a message mentions us is the backend's decision
(``extra.mention`` in ``MessageNew``), so every frontend notifies the same ones. Pure:
unit-tested without a bus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sat_frontends.tray.notifications import Key

#: values of ``--room-messages``
MENTIONS, ALL = "mentions", "all"
#: rooms remembered (a key is a (profile, room) pair)
ROOMS_KEPT = 1000


@dataclass(frozen=True)
class RoomMessage:
    """A room message to notify: who wrote it, what it says, whether it mentions us."""

    nick: str
    text: str
    mention: bool


def is_mention(extra_json: str) -> bool:
    """The backend's ``extra.mention`` of a ``MessageNew`` (false when absent or unreadable)."""
    try:
        extra = json.loads(extra_json)
    except ValueError:
        return False
    return isinstance(extra, dict) and extra.get("mention") is True


def room_summary(message: RoomMessage, room: str) -> str:
    """The summary of a room's notification: who, in which room."""
    if message.mention:
        return f"{message.nick} mentioned you in {room}"
    return f"{message.nick} in {room}"


@dataclass
class RoomWatch:
    """Rooms seen in ``MessageNew``, and the message each one's next notification shows.

    :param notify_all: every room message is notified, not only mentions.
    """

    notify_all: bool = False
    rooms: set[Key] = field(default_factory=set)
    _pending: dict[Key, RoomMessage] = field(default_factory=dict)

    def is_room(self, key: Key) -> bool:
        return key in self.rooms

    def message(self, key: Key, nick: str, text: str, mention: bool) -> None:
        """Someone else's message in a room: remembered for the notification the room's
        next unread count brings, if it is to be notified (a mention waiting is not
        replaced by a later message that does not mention us)."""
        if len(self.rooms) >= ROOMS_KEPT and key not in self.rooms:
            self.rooms.clear()
            self._pending.clear()
        self.rooms.add(key)
        if mention or self.notify_all:
            waiting = self._pending.get(key)
            if waiting is None or mention or not waiting.mention:
                self._pending[key] = RoomMessage(nick, text, mention)

    def to_notify(self, key: Key) -> RoomMessage | None:
        """The message to notify now that the room's unread count went up (taken), or
        None: nothing there for a notification."""
        return self._pending.pop(key, None)

    def read(self, key: Key) -> None:
        self._pending.pop(key, None)
