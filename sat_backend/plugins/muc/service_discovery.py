"""What a room says it is (XEP-0030 disco#info): whether it is a room at all, and the
features the plugin relies on (XEP-0359 stanza-ids, XEP-0313 archive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import NotFound, Stanza
from sat_backend.plugins.muc.stanzas import NS_MUC

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient

#: errors that say the room (or its service) was not reached, not what it is
UNREACHABLE = frozenset({"remote-server-not-found", "remote-server-timeout"})


def condition_of(failure: Stanza) -> str:
    """The RFC 6120 condition a ``Stanza`` error's message starts with."""
    return str(failure).partition(":")[0]


async def room_features(host: Backend, client: XmppClient, room_jid: JID) -> frozenset[str]:
    """What the room advertises (``urn:xmpp:sid:0``: its stanza-ids can be trusted),
    checking that it is one: nothing would answer our presence to anything else. A
    room that does not exist yet advertises nothing, until asked again once created.

    :raises NotFound: neither a room nor a room name on a group chat service.
    :raises Stanza: the room's server could not be reached (``remote-server-*``): that
        says nothing of what it is.
    """
    disco = host.plugins["XEP-0030"]
    try:
        info = await disco.get_info(client, room_jid)
    except Stanza as exc:
        if condition_of(exc) in UNREACHABLE:
            raise
        if condition_of(exc) != "item-not-found":
            raise NotFound(f"{room_jid.userhost()} is not a group chat room ({exc})") from None
        try:
            service = await disco.get_info(client, JID(room_jid.host))
        except Stanza as service_error:
            if condition_of(service_error) in UNREACHABLE:
                raise
            raise NotFound(f"{room_jid.host} is not a group chat service ({service_error})") from None
        if not _is_group_chat(service):
            raise NotFound(f"{room_jid.host} is not a group chat service") from None
        return frozenset()
    if not _is_group_chat(info):
        raise NotFound(f"{room_jid.userhost()} is not a group chat room")
    return info.features


def _is_group_chat(info: Any) -> bool:
    """A room or a group chat service says so by its identity or the MUC feature."""
    return NS_MUC in info.features or any(identity[0] == "conference" for identity in info.identities)
