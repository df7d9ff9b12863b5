"""Presence (RFC 6121 §3–4): ours, our contacts', and subscription requests.

Our own presence is remembered per profile so that a reconnection announces the same
availability; contacts' presence is kept in memory only (it is meaningless after a
restart) and every change is announced with ``PresenceUpdate``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument, NotFound
from sat_backend.core.im.xml_texts import check_texts_by_lang, clean_texts_by_lang
from sat_backend.core.jids import parse_bare_jid, parse_jid
from sat_backend.core.lazy_import import lazy_module

if TYPE_CHECKING:
    from tx_xmpp import xmppim
    from tx_xmpp.xmppim import AvailabilityPresence

    from sat_backend.core.host import Backend
    from sat_backend.core.im.presence_handler import PresenceHandler
    from sat_backend.core.xmpp.client import XmppClient
else:  # at the first connection (issue 14)
    xmppim = lazy_module("tx_xmpp.xmppim")

log = logging.getLogger(__name__)

SHOW_VALUES = ("", "away", "chat", "dnd", "xa", "unavailable")
MAX_STATUS_LENGTH = 1024


@dataclass
class OwnPresence:
    show: str = ""
    statuses: dict[str, str] = field(default_factory=dict)
    priority: int = 0


def _statuses_to_bridge(statuses: dict[Any, str] | None) -> dict[str, str]:
    return {(lang or ""): text for lang, text in (statuses or {}).items()}


def _statuses_from_bridge(statuses: dict[str, str]) -> dict[str | None, str]:
    return {(lang or None): text for lang, text in statuses.items()}


class PresenceService:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.handlers: dict[str, PresenceHandler] = {}
        self.own: dict[str, OwnPresence] = {}
        #: profile → bare JID → resource → (show, priority, statuses)
        self.contacts: dict[str, dict[str, dict[str, tuple[str, int, dict[str, str]]]]] = {}
        #: each adds a child to our available presences (XEP-0115 caps…)
        self.extenders: list[Callable[[], domish.Element]] = []
        #: told of every availability presence received, with its element
        self.availability_listeners: list[Callable[[XmppClient, domish.Element], None]] = []
        #: told of every unavailable presence received (not a room occupant's), with its element
        self.unavailability_listeners: list[Callable[[XmppClient, domish.Element], None]] = []
        #: profile → bare JIDs whose subscription request awaits the user's answer (the
        #: server sends them again at each login, RFC 6121 §3.1.3)
        self.pending_requests: dict[str, set[str]] = {}
        #: each says whether a sender is a room we are in (XEP-0045): its occupants'
        #: presences belong to the group chat plugin, not to the contacts' presence
        self.room_checks: list[Callable[[str, JID], bool]] = []

    def make_handler(self, client: XmppClient) -> PresenceHandler:
        from sat_backend.core.im.presence_handler import PresenceHandler  # issue 14: at the first connection

        handler = PresenceHandler(self, client)
        self.handlers[client.profile] = handler
        return handler

    def send_initial(self, client: XmppClient) -> None:
        """Announce our remembered availability (called once the roster is known)."""
        handler = self.handlers.get(client.profile)
        if handler is None or not client.is_connected:
            return
        own = self.own.get(client.profile, OwnPresence())
        statuses = clean_texts_by_lang(own.statuses)
        if statuses != own.statuses:  # never sent again, or the server closes the stream at each login
            log.error("%s: dropped a remembered status holding a character XML does not allow", client.profile)
            own = self.own[client.profile] = replace(own, statuses=statuses)
        self._send(handler, None, own)

    def _send(self, handler: PresenceHandler, recipient: JID | None, own: OwnPresence) -> None:
        statuses = _statuses_from_bridge(own.statuses) or None
        if own.show == "unavailable":
            handler.unavailable(recipient, statuses)
            return
        element = xmppim.AvailabilityPresence(recipient, show=own.show or None, statuses=statuses,
                                       priority=own.priority).toElement()
        for extend in self.extenders:
            try:
                element.addChild(extend())
            except Exception:  # noqa: BLE001 - a plugin bug must not stop our presence
                log.exception("a presence extension failed")
        handler.send(element)

    def from_room(self, client: XmppClient, presence: AvailabilityPresence) -> bool:
        sender: JID | None = presence.sender
        return sender is not None and any(check(client.profile, sender) for check in self.room_checks)

    def on_availability(self, client: XmppClient, presence: AvailabilityPresence) -> None:
        sender: JID = presence.sender
        if sender is None or sender == client.jid:
            return  # our own presence reflected by the server
        profile = client.profile
        resources = self.contacts.setdefault(profile, {}).setdefault(sender.userhost(), {})
        statuses = _statuses_to_bridge(presence.statuses)
        resource = sender.resource or ""
        if presence.available:
            show = presence.show or ""
            priority = int(presence.priority or 0)
            resources[resource] = (show, priority, statuses)
        else:
            show, priority = "unavailable", 0
            resources.pop(resource, None)
            if not resources:
                self.contacts[profile].pop(sender.userhost(), None)
        self.host.bridge.emit("PresenceUpdate", sender.full(), show, priority, statuses, profile)

    async def on_subscribe_request(self, handler: PresenceHandler, contact: JID) -> None:
        """Accept at once someone we asked first (we added them: the user wants a mutual
        subscription, whatever the server did with our pre-approval); ask the user otherwise."""
        profile = handler.client.profile
        known = await self.host.roster.get_contact(profile, contact.userhost())
        if known is not None and (known.subscription in ("to", "both") or known.ask):
            log.info("%s: accepting the subscription of %s (we asked them first)", profile, contact.userhost())
            handler.subscribed(contact)
            return
        self.pending_requests.setdefault(profile, set()).add(contact.userhost())
        self.host.bridge.emit("ContactSubscriptionRequest", contact.userhost(), profile)

    async def on_subscription_approved(self, handler: PresenceHandler, contact: JID) -> None:
        """Our request to ``contact`` was approved: when they are subscribed to our presence
        too, send it to them again (doc/developer.rst, "Two XMPP servers": ejabberd's PEP
        otherwise takes us for offline until our next broadcast)."""
        known = await self.host.roster.get_contact(handler.client.profile, contact.userhost())
        if known is None or known.subscription not in ("from", "both"):
            return  # not subscribed to our presence: a directed presence would give it away
        own = self.own.get(handler.client.profile, OwnPresence())
        if own.show != "unavailable" and handler.client.is_connected:
            self._send(handler, contact, own)

    def forget(self, profile: str) -> None:
        self.contacts.pop(profile, None)
        self.pending_requests.pop(profile, None)

    def subscribe(self, client: XmppClient, contact: JID) -> None:
        """Ask for ``contact``'s presence and pre-approve theirs (RFC 6121 §3.4), so that
        adding someone ends in a mutual subscription once they accept."""
        handler = self.handlers[client.profile]
        handler.subscribe(contact)
        handler.subscribed(contact)

    # bridge members ------------------------------------------------------------------------

    async def presence_set(self, to_jid: str, show: str, statuses: dict[str, str], profile: str) -> None:
        if show not in SHOW_VALUES:
            raise InvalidArgument(f"show must be one of {', '.join(repr(v) for v in SHOW_VALUES)}")
        if any(len(text) > MAX_STATUS_LENGTH for text in statuses.values()):
            raise InvalidArgument(f"a status is longer than {MAX_STATUS_LENGTH} characters")
        check_texts_by_lang(statuses, "status")
        recipient = parse_jid(to_jid, "to_jid") if to_jid else None
        resolved = await self.host.profiles.resolve(profile)
        client = self.host.sessions.get_client(resolved)
        own = OwnPresence(show, dict(statuses))
        if recipient is None:
            self.own[resolved] = own
        self._send(self.handlers[client.profile], recipient, own)

    async def statuses_get(self, profile: str) -> dict[str, dict[str, tuple[str, int, dict[str, str]]]]:
        return self.contacts.get(await self.host.profiles.resolve(profile), {})

    async def subscription_answer(self, jid: str, accept: bool, profile: str) -> None:
        """Accept or refuse ``jid``'s subscription request; refusing also cancels a
        subscription granted before (RFC 6121 §3.2).

        :raises NotFound: accepting, and ``jid`` asked nothing (accepting would
            pre-approve them and add them to the roster: not what the user meant).
        """
        contact = JID(parse_bare_jid(jid, "jid"))
        resolved = await self.host.profiles.resolve(profile)
        client = self.host.sessions.get_client(resolved)
        handler = self.handlers[client.profile]
        pending = self.pending_requests.get(client.profile, set())
        if not accept:
            pending.discard(contact.userhost())
            handler.unsubscribed(contact)
            return
        if contact.userhost() not in pending:
            raise NotFound(f"no pending subscription request from {contact.userhost()}")
        pending.discard(contact.userhost())
        handler.subscribed(contact)
        known = await self.host.roster.get_contact(resolved, contact.userhost())
        if known is None or (known.subscription in ("none", "from") and not known.ask):
            handler.subscribe(contact)
