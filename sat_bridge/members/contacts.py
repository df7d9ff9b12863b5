"""Roster and presence members of the core interface (RFC 6121)."""

from __future__ import annotations

from sat_bridge.members.core import JID_LENGTH, NAME_LENGTH, PROFILE
from sat_bridge.spec import Arg, Member, Method, Signal

CONTACT_JID = Arg("jid", "s", "the contact's bare JID", max_length=JID_LENGTH)
ATTRIBUTES = Arg(
    "attributes", "a{ss}",
    '``name``, ``subscription`` (``none``/``to``/``from``/``both``), ``ask`` (``subscribe`` '
    'while our request is pending, else ``""``)',
)
GROUPS = Arg("groups", "as", "roster groups", max_length=NAME_LENGTH)
STATUSES = Arg("statuses", "a{ss}", 'status texts by language, ``""`` = no xml:lang', content=True)
SHOW_VALUES = '``""`` (available), ``away``, ``chat``, ``dnd``, ``xa``, or ``unavailable``'

CONTACT_MEMBERS: tuple[Member, ...] = (
    Method(
        "ContactsGet", "core", (PROFILE,), "a(sa{ss}as)",
        "The roster: (jid, attributes, groups) for each contact. Served from the local copy "
        "(kept with roster versioning), so it works offline too.",
    ),
    Method(
        "ContactAdd", "core", (CONTACT_JID, PROFILE), "",
        "Add a contact to the roster and ask to see their presence (subscription request). "
        "``Stanza`` (condition first) when the server refuses it.",
    ),
    Method(
        "ContactUpdate", "core",
        (CONTACT_JID, Arg("name", "s", 'display name (``""`` = none)', max_length=NAME_LENGTH), GROUPS, PROFILE), "",
        "Change a contact's name and groups. ``NotFound`` if not in the roster; "
        "``InvalidArgument`` for a name or group holding a character XML 1.0 forbids.",
    ),
    Method(
        "ContactDelete", "core", (CONTACT_JID, PROFILE), "",
        "Remove a contact from the roster (this cancels subscriptions both ways). "
        "``NotFound`` if not in the roster.",
    ),
    Method(
        "ContactSubscriptionAnswer", "core",
        (CONTACT_JID, Arg("accept", "b", "true: let them see our presence"), PROFILE), "",
        "Answer a ``ContactSubscriptionRequest``. Accepting also asks for their presence "
        "when we do not have it yet, as users expect a mutual subscription. Accepting when "
        "they asked nothing is ``NotFound`` (refusing also cancels a subscription given before).",
    ),
    Method(
        "PresenceSet", "core",
        (Arg("to_jid", "s", '``""`` = broadcast to contacts (and remembered for reconnections)',
             max_length=JID_LENGTH),
         Arg("show", "s", SHOW_VALUES), STATUSES, PROFILE), "",
        "Set our presence. ``InvalidArgument`` for a status (or its language) holding a "
        "character XML 1.0 forbids.",
    ),
    Method(
        "PresenceStatusesGet", "core", (PROFILE,), "a{sa{s(sia{ss})}}",
        "Presence of contacts now: {bare jid: {resource: (show, priority, statuses)}}; "
        "only available resources are listed.",
    ),
    Signal("ContactNew", "core", (CONTACT_JID, ATTRIBUTES, GROUPS, PROFILE),
           "A contact was added to the roster or changed (name, groups, subscription)."),
    Signal("ContactDeleted", "core", (CONTACT_JID, PROFILE), "A contact left the roster."),
    Signal("ContactSubscriptionRequest", "core", (CONTACT_JID, PROFILE),
           "Someone asks to see our presence: answer with ``ContactSubscriptionAnswer``."),
    Signal(
        "PresenceUpdate", "core",
        (Arg("entity", "s", "full JID of the contact's resource"), Arg("show", "s", SHOW_VALUES),
         Arg("priority", "i", "resource priority"), STATUSES, PROFILE),
        "A contact's resource changed presence.",
    ),
)
