"""What moderators, admins and owners do in a room (XEP-0045 v1.35 §8–10: roles,
affiliations, configuration), and invitations (XEP-0249 v1.2 direct, XEP-0045 §7.8.2
mediated).

Requests go to the room as ``muc#admin`` / ``muc#owner`` IQs; the room's refusal becomes
a typed error (``forbidden``/``not-allowed`` → ``PermissionDenied``…). Configuration
forms are read and submitted with the data form helpers of the pubsub owner use cases
(:mod:`sat_backend.plugins.pubsub_owner`), which type the values after the room's own form.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import BridgeError, Conflict, InvalidArgument, NotFound, PermissionDenied, Stanza
from sat_backend.core.jids import parse_jid
from sat_backend.core.json_arguments import parse_json_object
from sat_backend.core.sessions import new_iq
from sat_backend.plugins.muc.stanzas import (
    AFFILIATIONS, MAX_TEXT_LENGTH, NS_CLIENT, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER, ROLES, check_nick,
    check_room_jid,
)
from sat_backend.plugins.pubsub_owner import form_to_json, submit_form
from sat_backend.plugins.tx_xmpp_modules import data_form
from sat_bridge.xml_text import check_xml_text

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0045 import GroupChats

log = logging.getLogger(__name__)

NS_CONFERENCE = "jabber:x:conference"
NS_ROOM_CONFIG = "http://jabber.org/protocol/muc#roomconfig"
#: a reason we give (kick, ban, invitation) is refused above this
MAX_REASON_LENGTH = 1024
#: invitation passwords kept per profile until used by ``MucJoin`` (oldest dropped)
MAX_INVITATIONS = 100

_ADMIN_REFUSALS: dict[str, type[BridgeError]] = {
    "forbidden": PermissionDenied,
    "not-allowed": PermissionDenied,
    "not-authorized": PermissionDenied,
    "item-not-found": NotFound,
    "bad-request": InvalidArgument,
    "not-acceptable": InvalidArgument,
    "conflict": Conflict,
}


def admin_error(room: JID, what: str, refusal: error.StanzaError) -> BridgeError:
    """The typed error of a room's refusal of an admin or owner request."""
    kind = _ADMIN_REFUSALS.get(refusal.condition, Stanza)
    text = f" ({str(refusal.text)[:200]})" if refusal.text else ""
    return kind(f"{refusal.condition}: {room.userhost()} refused {what}{text}")


def check_reason(reason: str) -> str:
    """:raises InvalidArgument: too long, or a character XML forbids."""
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidArgument(f"reason is longer than {MAX_REASON_LENGTH} characters")
    return check_xml_text(reason, "reason")


def admin_item(attributes: dict[str, str], reason: str) -> domish.Element:
    """A ``muc#admin`` query with one ``<item/>`` (§8–9)."""
    query = domish.Element((NS_MUC_ADMIN, "query"))
    item = query.addElement("item")
    for name, value in attributes.items():
        item[name] = value
    if reason:
        item.addElement("reason", content=reason)
    return query


def affiliation_list(answer: domish.Element) -> dict[str, str]:
    """``{jid: reserved nick or ""}`` of an affiliation list (§9.5); malformed items skipped."""
    listed: dict[str, str] = {}
    for query in answer.elements(NS_MUC_ADMIN, "query"):
        for item in query.elements(NS_MUC_ADMIN, "item"):
            try:
                entity = parse_jid(str(item.getAttribute("jid", "")), "jid").full()
            except InvalidArgument:
                continue
            listed[entity] = str(item.getAttribute("nick", ""))[:MAX_TEXT_LENGTH]
    return listed


def direct_invitation(invitee: JID, room: JID, reason: str, password: str | None) -> domish.Element:
    """A XEP-0249 invitation (§2): a message to the invitee naming the room."""
    message = domish.Element((NS_CLIENT, "message"))
    message["to"] = invitee.full()
    conference = message.addElement((NS_CONFERENCE, "x"))
    conference["jid"] = room.userhost()
    if reason:
        conference["reason"] = reason
    if password:
        conference["password"] = password
    return message


def parse_invitation(element: domish.Element) -> tuple[JID, str, str, str | None] | None:
    """(room, inviter, reason, password) of a direct (XEP-0249) or mediated (§7.8.2)
    invitation, or None when the message is none or malformed."""
    direct = next(element.elements(NS_CONFERENCE, "x"), None)
    user = next(element.elements(NS_MUC_USER, "x"), None)
    invite = next(user.elements(NS_MUC_USER, "invite"), None) if user is not None else None
    try:
        sender = parse_jid(str(element.getAttribute("from", "")), "from")
        if invite is None or user is None:  # a mediated one may carry a direct one too (Prosody)
            if direct is None:
                return None
            room = check_room_jid(str(direct.getAttribute("jid", "")))
            return (room, sender.full(), str(direct.getAttribute("reason", ""))[:MAX_TEXT_LENGTH],
                    _password(direct.getAttribute("password")))
        room = check_room_jid(sender.userhost())
        inviter = parse_jid(str(invite.getAttribute("from", "")), "from").full() if invite.getAttribute("from") \
            else room.userhost()
        reason = next(invite.elements(NS_MUC_USER, "reason"), None)
        password = next(user.elements(NS_MUC_USER, "password"), None)
        return (room, inviter, str(reason)[:MAX_TEXT_LENGTH] if reason is not None else "",
                _password(str(password) if password is not None else None))
    except InvalidArgument:
        return None


def _password(value: str | None) -> str | None:
    return str(value) if value and len(value) <= MAX_REASON_LENGTH else None


class RoomAdministration:
    """``MucRoleSet``, ``MucAffiliationSet``, ``MucAffiliationsGet``, ``MucConfigGet``,
    ``MucConfigSet``, ``MucInvite``; ``MucInvited`` for invitations we receive."""

    def __init__(self, plugin: GroupChats) -> None:
        self.plugin = plugin
        self.host = plugin.host
        #: (profile, room) → password an invitation gave, for the next ``MucJoin`` without one
        self.invitation_passwords: OrderedDict[tuple[str, str], str] = OrderedDict()

    def register(self) -> None:
        register = self.host.bridge.register_method
        register("MucRoleSet", self.role_set)
        register("MucAffiliationSet", self.affiliation_set)
        register("MucAffiliationsGet", self.affiliations_get)
        register("MucConfigGet", self.config_get)
        register("MucConfigSet", self.config_set)
        register("MucInvite", self.invite)
        self.host.bridge.enable_signal("MucInvited")

    async def request(self, profile: str, room: JID, payload: domish.Element, iq_type: str, what: str) -> Any:
        """Send ``payload`` to a room we are in and return the answer.

        :raises NotFound: we are not in the room.
        """
        resolved = await self.host.profiles.resolve(profile)
        self.plugin.joined_room(resolved, room)
        client = self.host.sessions.get_client(resolved)
        iq = new_iq(client, iq_type)
        iq["to"] = room.userhost()
        iq.addChild(payload)
        try:
            return await self.host.sessions.answer(iq.send())
        except error.StanzaError as refusal:
            raise admin_error(room, what, refusal) from None

    async def role_set(self, room_jid: str, nick: str, role: str, reason: str, profile: str) -> None:
        """§8.4–8.7, §9.6–9.7: ``none`` kicks, ``visitor`` revokes voice, ``moderator``…"""
        room = check_room_jid(room_jid)
        check_nick(nick, room)
        if role not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}")
        await self.request(profile, room, admin_item({"nick": nick, "role": role}, check_reason(reason)), "set",
                            f"the role {role} for {nick!r}")

    async def affiliation_set(self, room_jid: str, jid: str, affiliation: str, reason: str, profile: str) -> None:
        """§9.1–9.4, §10.3–10.7: ``outcast`` bans, ``none`` removes any affiliation."""
        room = check_room_jid(room_jid)
        entity = parse_jid(jid, "jid").userhostJID()
        if affiliation not in AFFILIATIONS:
            raise InvalidArgument(f"affiliation must be one of {', '.join(AFFILIATIONS)}")
        await self.request(profile, room, admin_item({"jid": entity.full(), "affiliation": affiliation},
                                                      check_reason(reason)),
                            "set", f"the affiliation {affiliation} for {entity.full()}")

    async def affiliations_get(self, room_jid: str, affiliation: str, profile: str) -> dict[str, str]:
        """§9.5, §10.5, §10.8: who has ``affiliation`` (``outcast``: the ban list)."""
        room = check_room_jid(room_jid)
        if affiliation not in AFFILIATIONS or affiliation == "none":
            raise InvalidArgument(f"affiliation must be one of {', '.join(AFFILIATIONS[:-1])}")
        answer = await self.request(profile, room, admin_item({"affiliation": affiliation}, ""), "get",
                                     f"its {affiliation} list")
        return affiliation_list(answer)

    async def _configuration_form(self, profile: str, room: JID) -> data_form.Form:
        query = domish.Element((NS_MUC_OWNER, "query"))
        answer = await self.request(profile, room, query, "get", "its configuration form")
        form = data_form.findForm(next(answer.elements(NS_MUC_OWNER, "query"), None), NS_ROOM_CONFIG)
        if form is None:
            raise Stanza(f"undefined-condition: {room.userhost()} sent no configuration form")
        return form

    async def config_get(self, room_jid: str, profile: str) -> str:
        """§10.2: ``{"values": {field: value}, "fields": {field: {type, label, options?}}}``."""
        return json.dumps(form_to_json(await self._configuration_form(profile, check_room_jid(room_jid))))

    async def config_set(self, room_jid: str, options_json: str, profile: str) -> None:
        """§10.2: the room's form is read first, so that values are typed after it and an
        unknown field or option is ``InvalidArgument`` rather than the room's ``bad-request``."""
        room = check_room_jid(room_jid)
        options = parse_json_object(options_json, "options_json")
        if not options:
            raise InvalidArgument("options_json is empty: nothing to configure")
        submit = submit_form(await self._configuration_form(profile, room), options)
        query = domish.Element((NS_MUC_OWNER, "query"))
        query.addChild(submit.toElement())
        await self.request(profile, room, query, "set", "the configuration")

    async def invite(self, room_jid: str, jid: str, reason: str, profile: str) -> None:
        """XEP-0249: a direct invitation, with the room's password when we have one."""
        room = check_room_jid(room_jid)
        invitee = parse_jid(jid, "jid")
        resolved = await self.host.profiles.resolve(profile)
        state = self.plugin.joined_room(resolved, room)
        client = self.host.sessions.get_client(resolved)
        client.send_stanza(direct_invitation(invitee, room, check_reason(reason), state.password))

    def on_invitation(self, client: XmppClient, element: domish.Element) -> None:
        """A message inviting us to a room: ``MucInvited``; its password waits for ``MucJoin``."""
        parsed = parse_invitation(element)
        if parsed is None:
            log.info("%s: dropped a malformed room invitation", client.profile)
            return
        room, inviter, reason, password = parsed
        if password is not None:
            key = (client.profile, room.userhost())
            self.invitation_passwords[key] = password
            self.invitation_passwords.move_to_end(key)
            while len(self.invitation_passwords) > MAX_INVITATIONS:
                self.invitation_passwords.popitem(last=False)
        self.host.bridge.emit("MucInvited", room.userhost(), inviter, reason, client.profile)

    def take_invitation_password(self, profile: str, room: JID) -> str | None:
        return self.invitation_passwords.pop((profile, room.userhost()), None)

    def forget_profile(self, profile: str) -> None:
        """The profile was deleted: its invitations' passwords go with it."""
        for key in [key for key in self.invitation_passwords if key[0] == profile]:
            del self.invitation_passwords[key]
