"""Messaging members: send, history, new-message signal (core interface); reactions
(XEP-0444), corrections (XEP-0308) and retractions (XEP-0424) with their
``MessageUpdate`` signal (plugin interface for the methods, as in the contract)."""

from __future__ import annotations

from sat_bridge.members.core import JID_LENGTH, PROFILE
from sat_bridge.spec import Arg, Member, Method, Signal

HISTORY_ROW = "(sdssa{ss}a{ss}ss)"

MESSAGING_MEMBERS: tuple[Member, ...] = (
    Method(
        "MessageSend",
        "core",
        (
            Arg("to_jid", "s", "recipient (bare or full JID)", max_length=JID_LENGTH),
            Arg("message", "a{ss}", 'bodies by language, ``""`` = no xml:lang', content=True),
            Arg("subject", "a{ss}", "subjects by language (may be empty)", content=True),
            Arg("type", "s", '``chat``, ``normal``, ``headline``, ``groupchat`` (to a room we are in, '
                'its bare JID) or ``""`` (= ``chat``)'),
            Arg("extra_json", "s", "JSON object of extra data, stored with the message (may be ``{}``); "
                "``reactions``, ``edits``, ``edited``, ``retracted`` and ``error`` are the backend's "
                "(``InvalidArgument``)"),
            PROFILE,
        ),
        "s",
        "Send a message, store it in history and emit ``MessageNew``. "
        "``ProfileNotConnected`` when the profile is offline; ``InvalidArgument`` for a body, "
        "subject or language holding a character XML 1.0 forbids (nothing stored nor sent). "
        "A ``groupchat`` message is stored and announced as from ``room/our nick`` (as the room "
        "shows it; its reflection is not stored again); ``NotFound`` when we are not in the room. "
        "If the recipient's server answers an error, ``MessageUpdate(uid, \"error\", …)`` follows.",
        out_doc="uid of the message (also its XEP-0359 origin-id)",
    ),
    Method(
        "HistoryGet",
        "core",
        (
            Arg("from_jid", "s", '``""`` = anyone; a bare JID matches every resource', max_length=JID_LENGTH),
            Arg("to_jid", "s", '``""`` = anyone', max_length=JID_LENGTH),
            Arg("limit", "i", "at most this many messages, the most recent ones; 0 = no limit"),
            Arg("between", "b", "also messages from ``to_jid`` to ``from_jid`` (a conversation)"),
            Arg(
                "filters_json",
                "s",
                'JSON object: ``{"body": text (case-insensitive substring), "types": [type…], '
                '"after": timestamp, "before": timestamp}``; every key optional',
                content=True,
            ),
            PROFILE,
        ),
        f"a{HISTORY_ROW}",
        "Messages of the history, oldest first: (uid, timestamp, from, to, message, subject, "
        "type, extra_json).",
    ),
    Signal(
        "MessageNew",
        "core",
        (
            Arg("uid", "s", "message uid"),
            Arg("timestamp", "d", "seconds since the epoch (delayed messages: when sent)"),
            Arg("from_jid", "s", "sender, full JID"),
            Arg("to_jid", "s", "recipient"),
            Arg("message", "a{ss}", "bodies by language"),
            Arg("subject", "a{ss}", "subjects by language"),
            Arg("type", "s", "message type"),
            Arg("extra_json", "s", "JSON object of extra data (``mention``: true on a ``groupchat`` "
                "message that mentions us, decided by the backend)"),
            Arg("profile", "s", "profile"),
        ),
        "A message was received or sent (by us, or by another of our devices); it is in history.",
    ),
    Signal(
        "MessageUpdate",
        "core",
        (
            Arg("uid", "s", "uid of the message that changed"),
            Arg("update_type", "s", "``reactions``, ``edit``, ``retract`` or ``error``"),
            Arg(
                "data_json",
                "s",
                'JSON object: ``reactions``: ``{"reactions": {emoji: [reactor…]}}`` (every sender; a '
                "reactor is a bare JID, ours included; in a room, another occupant is ``occupant-id:ID`` "
                "where the room gives XEP-0421 occupant-ids, else their real bare JID when shown, else "
                "``room@service/nick``); "
                '``edit``: ``{"message": {lang: text}, "edited": timestamp}``; '
                '``retract``: ``{"retracted": timestamp, "by": bare JID}`` (a room moderator\'s, XEP-0425: '
                '``"by"`` the room, and ``"moderated": {"by": moderator\'s occupant JID or "", "reason"}``); '
                '``error``: ``{"error": {"condition": RFC 6120 condition, "text": the server\'s text or ""}}`` '
                "(also in the history row's ``extra``)",
            ),
            Arg("profile", "s", "profile"),
        ),
        "A message of the history changed (someone reacted, corrected or retracted it, or a "
        "message we sent came back with a delivery error); history is already updated.",
    ),
    Method(
        "MessageReactionsSet",
        "plugin",
        (
            Arg("message_uid", "s", "uid of the message (as in ``MessageNew`` / ``HistoryGet``)"),
            Arg("reactions", "as", "emojis, each a single emoji (else ``InvalidArgument``)"),
            Arg(
                "update_type",
                "s",
                "``replace`` (our set becomes ``reactions``; empty = none), ``add``, ``remove`` "
                "or ``toggle`` (each given emoji is added if absent, removed if present)",
            ),
            PROFILE,
        ),
        "",
        "Set our reactions to a message (XEP-0444): our whole resulting set is sent, history "
        "is updated and ``MessageUpdate(uid, \"reactions\", …)`` emitted. A room's message "
        "(XEP-0045) is named by the room's stanza-id and the reaction goes to the room. "
        "``NotFound`` for an unknown uid or a room we are no longer in, ``Conflict`` for a "
        "retracted message, ``NotSupported`` for a room's message without stanza-id.",
    ),
    Signal(
        "ReactionsReceived",
        "plugin",
        (
            Arg("uid", "s", "uid of our message"),
            Arg("conversation_jid", "s", "bare JID of the conversation (the other end of a 1:1 chat, or the room)"),
            Arg("from_jid", "s", "bare JID of who reacted (in a room: their occupant JID, ``room@service/nick``)"),
            Arg("added", "as", "the emojis new in their set, in their order"),
            Arg("profile", "s", "profile"),
        ),
        "Someone else added reactions (XEP-0444) to a message we sent, live or from the "
        "archive: what a notification tells (\"carol reacted 👍\"). Removals and reactions to "
        "others' messages are not signalled here; ``MessageUpdate`` carries every change.",
    ),
    Method(
        "MessageEdit",
        "plugin",
        (
            Arg("message_uid", "s", "uid of one of our messages"),
            Arg("message", "a{ss}", "the new bodies by language", content=True),
            Arg("extra_json", "s", "JSON object, reserved: must be ``{}`` (or empty)"),
            PROFILE,
        ),
        "",
        "Correct a message we sent (XEP-0308): the new text is sent and replaces the old one "
        "in history, which keeps it in ``extra.edits``; ``MessageUpdate(uid, \"edit\", …)``. "
        "``PermissionDenied`` for someone else's message, ``Conflict`` for a retracted one.",
    ),
    Method(
        "MessageRetract",
        "plugin",
        (Arg("message_uid", "s", "uid of one of our messages"), PROFILE),
        "",
        "Retract a message we sent (XEP-0424, with a XEP-0428 fallback body): history keeps a "
        "tombstone without text (``extra.retracted``); ``MessageUpdate(uid, \"retract\", …)``. "
        "``PermissionDenied`` for someone else's message, ``Conflict`` if already retracted.",
    ),
)
