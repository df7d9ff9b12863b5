"""Members of the message archive plugin (XEP-0313), on the plugin interface."""

from __future__ import annotations

from sat_bridge.members.core import PROFILE
from sat_bridge.spec import Member, Method

ARCHIVE_MEMBERS: tuple[Member, ...] = (
    Method(
        "MamGapsGet", "plugin", (PROFILE,), "s",
        "Holes in the history that the server's archive could not fill, as JSON "
        '``[{"after_id": archive id we had, "detected": timestamp, "reason": text}]``.',
    ),
)
