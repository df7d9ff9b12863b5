"""Read state of conversations (plugin interface): unread counts kept by the backend, so
every frontend (tray, CLI, GUI) shows the same numbers, and a conversation read on
another of our devices (XEP-0333 displayed marker or our own reply, by carbons) is read
here too."""

from __future__ import annotations

from sat_bridge.members.core import JID_LENGTH, PROFILE
from sat_bridge.spec import Arg, Member, Method, Signal

READ_STATE_MEMBERS: tuple[Member, ...] = (
    Method(
        "UnreadGet",
        "plugin",
        (
            Arg("conversation_jid", "s", 'bare JID of the other end (a contact, or a room); ``""`` = '
                "every conversation", max_length=JID_LENGTH),
            PROFILE,
        ),
        "a{si}",
        "Unread counts: messages received in a 1:1 conversation, or from a room's occupants "
        "(XEP-0045, by room), after the point it was read up to. Conversations without unread message are left out (a given ``conversation_jid`` "
        "is always in the answer, 0 when read).",
        out_doc="{bare JID of the other end: number of unread messages}",
    ),
    Method(
        "MarkRead",
        "plugin",
        (
            Arg("conversation_jid", "s", "bare JID of the other end (a contact, or a room)",
                max_length=JID_LENGTH),
            Arg("up_to_uid", "s", 'uid of the last message read (as in ``MessageNew``); ``""`` = '
                "every message stored now", max_length=64),
            PROFILE,
        ),
        "i",
        "Mark a conversation read up to a message (never backwards: an older point changes "
        "nothing) and emit ``UnreadChanged`` when the count changed. ``NotFound`` for a uid "
        "that is not a message of this conversation.",
        out_doc="the conversation's unread count after the call",
    ),
    Signal(
        "UnreadChanged",
        "plugin",
        (
            Arg("conversation_jid", "s", "bare JID of the other end (a contact, or a room)"),
            Arg("count", "i", "unread messages now (0: read, e.g. on another device)"),
            Arg("profile", "s", "profile"),
        ),
        "A conversation's unread count changed: a message arrived, or it was read (here, by "
        "``MarkRead``, or on another of our devices: displayed marker or our own reply; in a room, "
        "our own message).",
    ),
)
