"""Members of the service discovery plugins (XEP-0030, XEP-0115)."""

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
)
