"""The roster (RFC 6121 §2) of each profile, kept locally with roster versioning.

The local copy lives in the profile's private data (namespace ``roster``): the contacts
and the version the server gave. On connect we ask for the roster "since" that version;
the server answers with nothing new or the whole roster, then pushes each change, which
updates the copy and is announced with ``ContactNew`` / ``ContactDeleted``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import NotFound, Stanza
from sat_backend.core.im.xml_texts import check_texts
from sat_backend.core.jids import parse_bare_jid
from sat_backend.core.lazy_import import lazy_module
from sat_bridge.xml_text import forbidden_xml_char

if TYPE_CHECKING:
    from tx_xmpp import xmppim
    from tx_xmpp.xmppim import RosterItem

    from sat_backend.core.host import Backend
    from sat_backend.core.im.roster_handler import RosterHandler
    from sat_backend.core.xmpp.client import XmppClient
else:  # at the first connection (issue 14)
    xmppim = lazy_module("tx_xmpp.xmppim")

log = logging.getLogger(__name__)

PRIVATE_NAMESPACE = "roster"


@dataclass
class Contact:
    jid: str
    name: str = ""
    subscription: str = "none"
    ask: str = ""
    groups: list[str] = field(default_factory=list)

    @classmethod
    def from_item(cls, item: RosterItem) -> Contact:
        subscription = {(False, False): "none", (True, False): "to", (False, True): "from",
                        (True, True): "both"}[(item.subscriptionTo, item.subscriptionFrom)]
        return cls(item.entity.userhost(), item.name or "", subscription,
                   "subscribe" if item.pendingOut else "", sorted(item.groups))

    def bridge_tuple(self) -> tuple[str, dict[str, str], list[str]]:
        return self.jid, {"name": self.name, "subscription": self.subscription, "ask": self.ask}, self.groups


class RosterService:
    """Roster of every profile, for the bridge members and the other core parts."""

    def __init__(self, host: Backend) -> None:
        self.host = host
        self.handlers: dict[str, RosterHandler] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, profile: str) -> asyncio.Lock:
        """Serialises read-modify-write of one profile's local copy (pushes come in bursts)."""
        return self._locks.setdefault(profile, asyncio.Lock())

    def make_handler(self, client: XmppClient) -> RosterHandler:
        from sat_backend.core.im.roster_handler import RosterHandler  # issue 14: at the first connection

        handler = RosterHandler(self, client)
        self.handlers[client.profile] = handler
        return handler

    # local copy -------------------------------------------------------------------------

    async def load(self, profile: str) -> tuple[dict[str, Contact], str | None]:
        storage = self.host.storage
        stored = await storage.get_private(PRIVATE_NAMESPACE, "contacts", profile) or {}
        version = await storage.get_private(PRIVATE_NAMESPACE, "version", profile)
        if isinstance(version, str) and forbidden_xml_char(version) is not None:
            # sent with every roster request: the server would close the stream at each login
            log.error("%s: dropped a stored roster version holding a character XML does not allow", profile)
            version = None
        contacts = {}
        for jid, data in stored.items():
            try:
                contacts[jid] = Contact(**data)
            except TypeError:
                log.warning("%s: skipped a malformed cached roster entry for %s", profile, jid)
        return contacts, version if isinstance(version, str) else None

    async def save(self, profile: str, contacts: dict[str, Contact], version: str | None) -> None:
        storage = self.host.storage
        await storage.set_private(PRIVATE_NAMESPACE, "contacts", {j: asdict(c) for j, c in contacts.items()}, profile)
        await storage.set_private(PRIVATE_NAMESPACE, "version", version, profile)

    # network ------------------------------------------------------------------------------

    async def start_session(self, client: XmppClient) -> None:
        """Session starter: the roster first, then our initial presence."""
        await self.synchronise(self.handlers[client.profile])

    async def synchronise(self, handler: RosterHandler) -> None:
        """Fetch what changed since our version (or everything) and announce it; then
        send our initial presence (RFC 6121 §2.2: roster first, then presence)."""
        try:
            async with self._lock(handler.client.profile):
                await self._fetch(handler)
        finally:
            self.host.presence.send_initial(handler.client)

    async def _fetch(self, handler: RosterHandler) -> None:
        profile = handler.client.profile
        contacts, version = await self.load(profile)
        roster = await self._ask(handler.getRoster(version if version is not None else ""), "roster request")
        if roster is None:
            log.debug("%s: roster unchanged since version %s", profile, version)
            return
        fresh = {item.entity.userhost(): Contact.from_item(item) for item in roster.values()}
        await self.save(profile, fresh, roster.version)
        for jid in contacts.keys() - fresh.keys():
            self.host.bridge.emit("ContactDeleted", jid, profile)
        for jid, contact in fresh.items():
            if contacts.get(jid) != contact:
                self.host.bridge.emit("ContactNew", *contact.bridge_tuple(), profile)

    async def on_push(self, profile: str, item: RosterItem, version: str | None) -> None:
        async with self._lock(profile):
            await self._apply_push(profile, item, version)

    async def _apply_push(self, profile: str, item: RosterItem, version: str | None) -> None:
        contacts, old_version = await self.load(profile)
        jid = item.entity.userhost()
        if item.remove:
            contacts.pop(jid, None)  # may be gone already: see _accepted
            await self.save(profile, contacts, version or old_version)
            self.host.bridge.emit("ContactDeleted", jid, profile)
            return
        contact = Contact.from_item(item)
        contacts[jid] = contact
        await self.save(profile, contacts, version or old_version)
        self.host.bridge.emit("ContactNew", *contact.bridge_tuple(), profile)

    # bridge members -------------------------------------------------------------------------

    async def contacts_get(self, profile: str) -> list[tuple[str, dict[str, str], list[str]]]:
        contacts, _ = await self.load(await self.host.profiles.resolve(profile))
        return [contact.bridge_tuple() for contact in contacts.values()]

    async def contact_add(self, jid: str, profile: str) -> None:
        contact = JID(parse_bare_jid(jid, "jid"))
        handler = self._handler(await self.host.profiles.resolve(profile))
        await self._ask(handler.setItem(xmppim.RosterItem(contact)), f"adding {contact.userhost()} to the roster")
        await self._accepted(handler.client.profile, contact.userhost(), lambda known: known or Contact(contact.userhost()))
        self.host.presence.subscribe(handler.client, contact)

    async def contact_update(self, jid: str, name: str, groups: list[str], profile: str) -> None:
        contact = parse_bare_jid(jid, "jid")
        check_texts([name], "name")
        check_texts(groups, "group")
        resolved = await self.host.profiles.resolve(profile)
        handler = self._handler(resolved)
        await self._require_contact(resolved, contact)
        item = xmppim.RosterItem(JID(contact), name=name, groups={group for group in groups if group})
        await self._ask(handler.setItem(item), f"updating {contact} in the roster")

        def renamed(known: Contact | None) -> Contact:
            known = known or Contact(contact)
            return Contact(contact, name, known.subscription, known.ask, sorted(item.groups))

        await self._accepted(resolved, contact, renamed)

    async def contact_delete(self, jid: str, profile: str) -> None:
        contact = parse_bare_jid(jid, "jid")
        resolved = await self.host.profiles.resolve(profile)
        handler = self._handler(resolved)
        await self._require_contact(resolved, contact)
        await self._ask(handler.removeItem(JID(contact)), f"removing {contact} from the roster")
        await self._accepted(resolved, contact, lambda known: None)

    async def _accepted(
        self, profile: str, jid: str, change: Callable[[Contact | None], Contact | None]
    ) -> None:
        """Apply to the local copy a roster change the server has just accepted.

        The server's push may come after its answer (Prosody does so), and the user's next
        call must already see the change; the push, when it comes, refines the entry (and
        is what emits ``ContactNew`` / ``ContactDeleted``).
        """
        async with self._lock(profile):
            contacts, version = await self.load(profile)
            updated = change(contacts.get(jid))
            if updated is None:
                contacts.pop(jid, None)
            else:
                contacts[jid] = updated
            await self.save(profile, contacts, version)

    async def get_contact(self, profile: str, jid: str) -> Contact | None:
        contacts, _ = await self.load(profile)
        return contacts.get(jid)

    async def _require_contact(self, profile: str, jid: str) -> None:
        if await self.get_contact(profile, jid) is None:
            raise NotFound(f"{jid} is not in the roster of {profile!r}")

    async def _ask(self, request: Any, what: str) -> Any:
        """The server's answer to a roster request.

        :raises Stanza: the server refused it; the message starts with the condition.
        :raises Timeout: no answer in time.
        """
        try:
            return await self.host.sessions.answer(request)
        except error.StanzaError as exc:
            text = f": {exc.text[:200]}" if exc.text else ""
            raise Stanza(f"{exc.condition}: {what}{text}") from None

    def _handler(self, profile: str) -> RosterHandler:
        client = self.host.sessions.get_client(profile)  # raises ProfileNotConnected
        return self.handlers[client.profile]
