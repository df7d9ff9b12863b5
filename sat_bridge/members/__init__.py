"""Declarations of every bridge member, one module per area (core, then one per plugin)."""

from __future__ import annotations

from sat_bridge.members.archive import ARCHIVE_MEMBERS
from sat_bridge.members.calls import CALL_MEMBERS
from sat_bridge.members.contacts import CONTACT_MEMBERS
from sat_bridge.members.core import CORE_MEMBERS
from sat_bridge.members.discovery import DISCOVERY_MEMBERS
from sat_bridge.members.messaging import MESSAGING_MEMBERS
from sat_bridge.members.microblog import MICROBLOG_MEMBERS
from sat_bridge.members.muc import MUC_MEMBERS
from sat_bridge.members.pubsub import PUBSUB_MEMBERS
from sat_bridge.members.pubsub_cache import PUBSUB_CACHE_MEMBERS
from sat_bridge.members.read_state import READ_STATE_MEMBERS
from sat_bridge.members.session import SESSION_MEMBERS
from sat_bridge.spec import Member

#: every member of this release, in the order they appear in the XML and the docs
ALL_MEMBERS: tuple[Member, ...] = (
    *CORE_MEMBERS, *SESSION_MEMBERS, *CONTACT_MEMBERS, *MESSAGING_MEMBERS, *ARCHIVE_MEMBERS, *MUC_MEMBERS,
    *DISCOVERY_MEMBERS, *PUBSUB_MEMBERS,
    *PUBSUB_CACHE_MEMBERS, *MICROBLOG_MEMBERS, *CALL_MEMBERS,
    *READ_STATE_MEMBERS,
)
