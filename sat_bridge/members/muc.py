"""Members of group chats (XEP-0045 Multi-User Chat), on the plugin interface.

Messages in rooms use the core's ``MessageSend`` (type ``groupchat``, to the room's bare
JID), ``MessageNew`` and ``HistoryGet`` (``from_jid`` = the room, ``between`` = true).
"""

from __future__ import annotations

from sat_bridge.members.core import JID_LENGTH, NAME_LENGTH, PROFILE
from sat_bridge.spec import Arg, Member, Method, Signal

ROOM = Arg("room_jid", "s", "the room's bare JID, ``room@service``", max_length=JID_LENGTH)
NICK = Arg("nick", "s", "nick in the room (a JID resource: at most 1023 bytes)", max_length=NAME_LENGTH)
REASON = Arg("reason", "s", "a reason shown to the people concerned, may be empty", max_length=1024)
OCCUPANT_ATTRIBUTES = (
    "``role`` (``moderator``, ``participant``, ``visitor``, ``none``), ``affiliation`` (``owner``, "
    "``admin``, ``member``, ``outcast``, ``none``), ``show``, ``status``, and when known ``jid`` "
    "(the real full JID, if the room shows it to us) and ``occupant_id`` (XEP-0421)"
)

MUC_MEMBERS: tuple[Member, ...] = (
    Method(
        "MucJoin", "plugin",
        (
            ROOM,
            Arg("nick", "s", '``""`` = the local part of our JID', max_length=NAME_LENGTH),
            Arg("password", "s", '``""`` = none; stored encrypted to enter again, never logged',
                secret=True, max_length=1024),
            Arg("options_json", "s",
                'JSON object: ``{"nick_conflict": "suffix"|"error", "history_max": 0..1000}``; '
                "``suffix`` (default) tries ``nick_2`` … ``nick_5`` when the nick is taken, ``error`` "
                "answers ``Conflict``; ``history_max``: the room's last messages to send (those we have "
                "are recognised, not stored twice); default: those since the last message of the room "
                "we have, or the room's choice the first time"),
            PROFILE,
        ),
        "s",
        "Enter a room, creating it if it does not exist (an instant room: its default "
        "configuration is accepted). Returns once in, after ``MucRoomJoined``; the room is "
        "entered again at each connection until ``MucLeave``, and bookmarked (XEP-0402 autojoin). Already in: returns our nick. "
        "``Conflict`` (nick taken), ``PermissionDenied`` (password needed or wrong, banned, "
        "members only, creation not allowed), ``NotFound`` (no such room and none can be "
        "made), ``InvalidArgument`` (bad room JID, nick or options; a nick the room refuses), "
        "``Timeout``, ``Stanza`` (another refusal; the message starts with its condition).",
        out_doc="our nick in the room: another one than asked after a conflict, or when the room assigns it",
    ),
    Method(
        "MucLeave", "plugin", (ROOM, PROFILE), "",
        "Leave a room (and stop entering it at each connection; its bookmark's autojoin is "
        "set false); ``MucRoomLeft`` follows. "
        "``NotFound`` when we are not in it.",
    ),
    Method(
        "MucNickSet", "plugin", (ROOM, NICK, PROFILE), "",
        "Change our nick in a room; returns once the room confirmed it "
        "(``MucOccupantChanged(room, old nick, \"nick\", …)``). ``NotFound`` when we are not in the "
        "room, ``Conflict`` when the nick is taken, ``InvalidArgument`` when the room refuses it.",
    ),
    Method(
        "MucSubjectSet", "plugin",
        (ROOM, Arg("subject", "a{ss}", 'subjects by language (``""`` = no xml:lang); empty clears it',
                   content=True), PROFILE),
        "",
        "Change the subject of a room; returns once the room showed it (``MucSubject``). "
        "``NotFound`` when we are not in the room, ``PermissionDenied`` when the room does not "
        "let us, ``InvalidArgument`` for a text over 4096 characters or with a character XML forbids.",
    ),
    Method(
        "MucOccupantsGet", "plugin", (ROOM, PROFILE), "a(sa{ss})",
        f"The occupants of a room we are in, by nick: (nick, attributes); attributes: {OCCUPANT_ATTRIBUTES}. "
        "``NotFound`` when we are not in the room.",
    ),
    Method(
        "MucRoomsGet", "plugin", (PROFILE,), "a(sssa{ss})",
        "The rooms we are in or entering: (room_jid, our nick, state, subject by language); "
        "state is ``joined``, or ``joining`` while we enter it (again, after a reconnection).",
    ),
    Method(
        "MucRoleSet", "plugin",
        (ROOM, NICK, Arg("role", "s", "``moderator``, ``participant``, ``visitor`` (no voice) or ``none`` (kick)"),
         REASON, PROFILE),
        "",
        "Change an occupant's role (XEP-0045 §8, moderators; ``none`` kicks). Returns once the room "
        "accepted; ``MucOccupantChanged`` follows. ``NotFound`` when we are not in the room or nobody "
        "has that nick, ``PermissionDenied`` when we may not.",
    ),
    Method(
        "MucMessageModerate", "plugin",
        (Arg("message_uid", "s", "uid of an occupant's message in a room (as in ``MessageNew`` / ``HistoryGet``)",
             max_length=64),
         REASON, PROFILE),
        "",
        "Retract an occupant's message as a moderator (XEP-0425 v0.3.0, or v0.2.1 with a room that "
        "speaks only that). Returns once the room accepted; its announcement then makes the message "
        "a tombstone for every occupant: ``MessageUpdate(uid, \"retract\", {\"retracted\", \"by\": room, "
        "\"moderated\": {\"by\": moderator's occupant JID, \"reason\"}})``, and ``extra.moderated`` in "
        "history. ``NotFound`` for an unknown uid, a room we are not in or a message the room does not "
        "know, ``PermissionDenied`` when we are not a moderator, ``NotSupported`` when the room does "
        "not moderate messages (or gave the message no stanza-id), ``Conflict`` if already retracted, "
        "``InvalidArgument`` for a message that is not a room's.",
    ),
    Method(
        "MucAffiliationSet", "plugin",
        (ROOM, Arg("jid", "s", "the user's JID (the bare JID is used)", max_length=JID_LENGTH),
         Arg("affiliation", "s", "``owner``, ``admin``, ``member``, ``outcast`` (ban) or ``none`` (remove)"),
         REASON, PROFILE),
        "",
        "Change a user's affiliation with a room (XEP-0045 §9–10, admins and owners; ``outcast`` "
        "bans). ``NotFound`` when we are not in the room, ``PermissionDenied`` when we may not, "
        "``Conflict`` when the room refuses (e.g. removing its last owner).",
    ),
    Method(
        "MucAffiliationsGet", "plugin",
        (ROOM, Arg("affiliation", "s", "``owner``, ``admin``, ``member`` or ``outcast`` (the ban list)"), PROFILE),
        "a{ss}",
        "Who has an affiliation with a room (XEP-0045 §9.5): ``{jid: reserved nick or \"\"}``. "
        "``PermissionDenied`` when the room does not show it to us.",
    ),
    Method(
        "MucConfigGet", "plugin", (ROOM, PROFILE), "s",
        "A room's configuration (XEP-0045 §10.2, owners) as JSON: ``{\"values\": {field: value}, "
        "\"fields\": {field: {\"type\", \"label\", \"options\"?}}}`` (``muc#roomconfig_*`` fields).",
    ),
    Method(
        "MucConfigSet", "plugin",
        (ROOM, Arg("options_json", "s", "JSON object ``{field: value}`` (booleans, strings, lists for "
                   "multi-valued fields), fields as ``MucConfigGet`` lists them"), PROFILE),
        "",
        "Change a room's configuration (owners). The room's form is read first: an unknown field or "
        "option is ``InvalidArgument``; ``PermissionDenied`` when we are not an owner.",
    ),
    Method(
        "MucInvite", "plugin",
        (ROOM, Arg("jid", "s", "who to invite", max_length=JID_LENGTH), REASON, PROFILE),
        "",
        "Invite someone to a room we are in (XEP-0249 direct invitation, with the room's password "
        "if we entered with one). ``NotFound`` when we are not in the room.",
    ),
    Signal(
        "MucInvited", "plugin",
        (ROOM, Arg("from_jid", "s", "who invites us"), Arg("reason", "s", "their reason, may be empty"), PROFILE),
        "An invitation to a room (XEP-0249, or mediated by the room, XEP-0045 §7.8.2). A password it "
        "carries is never in the signal: the next ``MucJoin`` of that room without password uses it.",
    ),
    Signal(
        "MucRoomJoined", "plugin",
        (ROOM, Arg("nick", "s", "our nick in the room"),
         Arg("created", "b", "we created the room (its default configuration was accepted)"), PROFILE),
        "We are in a room (by ``MucJoin``, or entering it again after a reconnection or a restart). "
        "Its occupants are then in ``MucOccupantsGet``; its subject follows in ``MucSubject``.",
    ),
    Signal(
        "MucRoomLeft", "plugin",
        (ROOM,
         Arg("reason", "s", "``left`` (``MucLeave``), ``kicked``, ``banned``, ``removed`` (affiliation "
             "changed, members only), ``shutdown`` (entered again at the next connection), "
             "``destroyed``, ``error`` (could not enter it again after a reconnection)"),
         Arg("text", "s", "the room's or moderator's reason, or the error, if any"), PROFILE),
        "We are out of a room.",
    ),
    Signal(
        "MucOccupantChanged", "plugin",
        (ROOM, Arg("nick", "s", "the occupant's nick (before the change, for ``nick``)"),
         Arg("change", "s", "``joined``, ``left``, ``updated`` (role, affiliation, show or status), "
             "``nick`` (attributes give ``new_nick``), ``kicked``, ``banned``, ``removed``"),
         Arg("attributes", "a{ss}", f"as in ``MucOccupantsGet``: {OCCUPANT_ATTRIBUTES}; plus ``new_nick``, "
             "``reason`` when given"),
         PROFILE),
        "An occupant of a room we are in changed (us included, once in the room).",
    ),
    Signal(
        "MucSubject", "plugin",
        (ROOM, Arg("subject", "a{ss}", "subjects by language (empty: no subject)"),
         Arg("by_nick", "s", 'who set it (``""``: the room)'), PROFILE),
        "The subject of a room: on entering it, and each time it changes.",
    ),
)
