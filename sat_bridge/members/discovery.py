"""Members of the service discovery plugins (XEP-0030, XEP-0115, XEP-0215)."""

from __future__ import annotations

from sat_bridge.members.core import IDENTIFIER_LENGTH, JID_LENGTH, PROFILE
from sat_bridge.spec import Arg, Member, Method

DISCOVERY_MEMBERS: tuple[Member, ...] = (
    Method(
        "DiscoInfos", "plugin",
        (Arg("jid", "s", "entity to ask (a full JID for a client)", max_length=JID_LENGTH), Arg("node", "s", '``""`` = none', max_length=IDENTIFIER_LENGTH), PROFILE),
        "s",
        "What the entity is and supports, as JSON "
        '``{"identities": [{"category", "type", "lang", "name"}], "features": [namespace…]}``; '
        "answered from the capabilities cache (XEP-0115) when the entity's are known.",
    ),
    Method(
        "ExternalServicesGet", "plugin",
        (Arg("service_type", "s", "``stun``, ``turn``, ``turns``…, or ``\"\"`` for every type", max_length=64),
         PROFILE),
        "s",
        "The STUN/TURN servers (and other external services) our server announces (XEP-0215), "
        "for a frontend's ICE agent, as a JSON list of ``{\"type\", \"host\", \"port\", "
        "\"transport\", \"username\", \"password\", \"expires\", \"restricted\", \"name\"}`` "
        "(``null`` when the server gave none; ``expires`` is a XEP-0082 date after which a "
        "TURN username and password no longer work). The credentials are never logged. "
        "``NotSupported`` when the server does not announce the feature, ``InvalidArgument`` "
        "for a malformed type, ``Stanza`` when the server refuses, ``Timeout``.",
        out_doc="JSON list of services, in the server's order",
    ),
)
