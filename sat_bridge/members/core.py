"""Core interface members (``org.salutatoi.SAT1.Core``): backend, profiles and params.

Names and signatures of members listed in the bridge contract are fixed; only add.
"""

from __future__ import annotations

from sat_bridge.spec import Arg, Member, Method, Signal

#: bounds of the bridge's string arguments where the default (256 KiB) does not fit:
#: profile names as the backend allows them, JIDs as RFC 7622 §3.1 does (3 × 1023 + 2)
PROFILE_NAME_LENGTH = 64
JID_LENGTH = 3071
#: identifiers that go into stanzas next to a JID (pubsub node names, item ids,
#: subscription ids): no XEP bounds them, a JID's bound is generous for any real one and
#: keeps a stanza of a few of them far under a server's stanza limit
IDENTIFIER_LENGTH = JID_LENGTH
#: names people give (roster names and groups, nicknames): one JID part's bound (RFC 7622 §3.3)
NAME_LENGTH = 1023

PROFILE = Arg("profile", "s", 'profile name; "" means the default profile', max_length=PROFILE_NAME_LENGTH)

CORE_MEMBERS: tuple[Member, ...] = (
    Method(
        "GetVersion",
        "core",
        (),
        "s",
        "Version of the running backend.",
        is_async=False,
        out_doc="version string, e.g. ``0.1.0``",
    ),
    Method(
        "GetReady",
        "core",
        (),
        "",
        "Return once the backend is initialised (storage migrated, plugins loaded).",
    ),
    Method(
        "ProfilesList",
        "core",
        (),
        "as",
        "Names of every profile, oldest first.",
    ),
    Method(
        "ProfileCreate",
        "core",
        (
            Arg("profile", "s", "new profile name (1–64 characters, no ``/`` nor control characters)",
                max_length=PROFILE_NAME_LENGTH),
            Arg("jid", "s", "the account's bare JID, ``user@domain``", max_length=JID_LENGTH),
            Arg("password", "s", "XMPP password; stored encrypted, never logged", secret=True),
            Arg(
                "options_json",
                "s",
                'JSON object: ``{"host": str, "port": int, "tls": "required"|"starttls-optional"'
                '|"direct"|"none", "autoconnect": bool, "ca_file": str}``; every key optional',
            ),
        ),
        "",
        "Create a profile and fill its ``Connection`` params. ``Conflict`` if it exists.",
    ),
    Method(
        "ProfileDelete",
        "core",
        (Arg("profile", "s", "profile to delete (explicit name, not the default alias)",
             max_length=PROFILE_NAME_LENGTH),),
        "",
        "Delete a profile and all its data, cache included.",
    ),
    Method(
        "ParamGet",
        "core",
        (Arg("category", "s", "param category, e.g. ``Connection``"), Arg("name", "s", "param name"), PROFILE),
        "s",
        "Value of a param as a string (its default when unset). "
        "Password params are never returned: ``PermissionDenied``.",
    ),
    Method(
        "ParamSet",
        "core",
        (
            Arg("category", "s", "param category"),
            Arg("name", "s", "param name"),
            Arg("value", "s", "new value, as a string; validated against the param's type", secret=True),
            PROFILE,
        ),
        "",
        "Set a param (validated against its declared type) and emit ``ParamUpdate``.",
    ),
    Method(
        "ParamsList",
        "core",
        (PROFILE,),
        "s",
        "Describe every declared param as JSON: "
        '``[{"category", "name", "type", "default", "doc", "constraints", "value"}]``; '
        "``value`` is null for passwords.",
    ),
    Signal(
        "ParamUpdate",
        "core",
        (
            Arg("name", "s", "param name"),
            Arg("value", "s", 'new value ("" for a password: its value is never sent)'),
            Arg("category", "s", "param category"),
            Arg("profile", "s", "profile whose param changed"),
        ),
        "A param changed.",
    ),
    Signal(
        "StorageStatus",
        "core",
        (
            Arg("state", "s", '``full``: writes fail for lack of disk space; ``ok``: a write succeeded again'),
            Arg("detail", "s", 'what the database reported (``""`` for ``ok``)'),
            Arg("profile", "s", '``""``: the database holds every profile, so this concerns them all'),
        ),
        "The database's disk filled up or has space again. While full, ``MessageSend`` fails with "
        "``Database`` and sends nothing; received messages are fetched again from the server's "
        "archive once space is freed.",
    ),
)
