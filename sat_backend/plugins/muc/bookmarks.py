"""Room bookmarks shared by our devices: XEP-0402 PEP Native Bookmarks (v1.2, node
``urn:xmpp:bookmarks:1``), one item per room, its id the room's JID.

Entering a room with ``MucJoin`` publishes its bookmark with ``autojoin`` true (nick, no
password: PEP is not where secrets go), leaving sets ``autojoin`` false. At each session
start, rooms bookmarked with ``autojoin`` are entered (besides the rooms we were in), and
the notifications of our other devices' changes (we advertise ``+notify``) enter or leave
rooms as they say: a device that joins a room makes every other one join it. Our own
publications come back as notifications too, possibly after we did something else: each
carries an id of ours in ``<extensions/>``, and its notification is ignored.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import BridgeError, InvalidArgument, NotFound, Stanza
from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import new_uid
from sat_backend.plugins.muc.saved_rooms import SavedRoom
from sat_backend.plugins.pubsub_owner import PubsubOwner
from sat_backend.plugins.tx_xmpp_modules import pubsub
from sat_backend.plugins.muc.stanzas import MAX_TEXT_LENGTH, check_nick, check_room_jid

if TYPE_CHECKING:
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.plugins.plugin_xep_0045 import GroupChats

log = logging.getLogger(__name__)

NS_BOOKMARKS = "urn:xmpp:bookmarks:1"
#: XEP-0402 §5 (and XEP-0223): private, persistent, as many items as rooms
PUBLISH_OPTIONS = {
    "pubsub#persist_items": "true",
    "pubsub#max_items": "max",
    "pubsub#send_last_published_item": "never",
    "pubsub#access_model": "whitelist",
}
#: what is left when the service refuses some publish-options (ejabberd 23.01 does not
#: know ``pubsub#max_items`` there; its nodes keep 1000 items by default)
FALLBACK_OPTIONS = {key: PUBLISH_OPTIONS[key] for key in ("pubsub#persist_items", "pubsub#access_model")}
#: bookmarks read at a session start
MAX_BOOKMARKS = 1000
#: our mark in a bookmark's ``<extensions/>`` (§3: other clients keep extensions), naming
#: one publication, so that its own notification is not taken for another device's change
NS_PUBLICATION = "urn:xmpp:sat:bookmark-publication:0"
#: publications whose notification has not come back yet
MAX_PENDING_ECHOES = 256


@dataclass(frozen=True)
class Bookmark:
    room: JID
    autojoin: bool
    nick: str | None = None
    name: str = ""


def parse_bookmark(item: domish.Element) -> Bookmark | None:
    """The bookmark of a PEP ``<item/>``; None for a malformed one (not a room JID, no
    ``<conference/>``, an unusable nick)."""
    conference = next(item.elements(NS_BOOKMARKS, "conference"), None)
    if conference is None:
        return None
    try:
        room = check_room_jid(str(item.getAttribute("id", "")))
        nick_element = next(conference.elements(NS_BOOKMARKS, "nick"), None)
        nick = str(nick_element) if nick_element is not None and str(nick_element) else None
        if nick is not None:
            check_nick(nick, room)
    except InvalidArgument:
        return None
    return Bookmark(room, conference.getAttribute("autojoin") in ("true", "1"), nick,
                    str(conference.getAttribute("name", ""))[:MAX_TEXT_LENGTH])


def publication_of(item: domish.Element) -> str | None:
    """The id of our publication a bookmark item carries, if any."""
    for conference in item.elements(NS_BOOKMARKS, "conference"):
        for extensions in conference.elements(NS_BOOKMARKS, "extensions"):
            for mark in extensions.elements(NS_PUBLICATION, "publication"):
                return str(mark.getAttribute("id", "")) or None
    return None


def bookmark_item(bookmark: Bookmark, publication: str | None = None) -> pubsub.Item:
    conference = domish.Element((NS_BOOKMARKS, "conference"))
    conference["autojoin"] = "true" if bookmark.autojoin else "false"
    if bookmark.name:
        conference["name"] = bookmark.name
    if bookmark.nick:
        conference.addElement("nick", content=bookmark.nick)
    if publication is not None:
        conference.addElement("extensions").addElement((NS_PUBLICATION, "publication"))["id"] = publication
    return pubsub.Item(id=bookmark.room.userhost(), payload=conference)


class Bookmarks:
    """Publishes our bookmarks and follows those of our other devices."""

    def __init__(self, plugin: GroupChats) -> None:
        self.plugin = plugin
        self.host = plugin.host
        #: our publications not seen back yet: their notifications are ignored (once), or
        #: a late one would undo what we did since (a join's echo after a leave…)
        self._echoes: OrderedDict[str, None] = OrderedDict()

    def register(self) -> None:
        self.host.plugins["XEP-0030"].add_feature(f"{NS_BOOKMARKS}+notify")
        self.host.plugins["XEP-0060"].event_listeners.append(self.on_events)

    async def publish(self, client: XmppClient, bookmark: Bookmark) -> None:
        """Publish a bookmark; a failure is logged (the room itself is entered or left)."""
        pubsub_plugin = self.host.plugins["XEP-0060"]
        handler = pubsub_plugin.handlers[client.profile]
        own = JID(client.jid.userhost())
        publication = new_uid()
        self._echoes[publication] = None
        while len(self._echoes) > MAX_PENDING_ECHOES:
            self._echoes.popitem(last=False)
        what = f"publishing the bookmark of {bookmark.room.userhost()}"
        item = bookmark_item(bookmark, publication)
        try:
            try:
                await pubsub_plugin.ask(handler.publish(own, NS_BOOKMARKS, [item], options=PUBLISH_OPTIONS), what)
            except Stanza as refused:
                log.info("%s: %s; publishing with fewer options", client.profile, refused)
                await pubsub_plugin.ask(handler.publish(own, NS_BOOKMARKS, [item], options=FALLBACK_OPTIONS), what)
                # such a node may keep one item (ejabberd's PEP default): one per room is wanted
                await PubsubOwner(pubsub_plugin).configuration_set(
                    "", NS_BOOKMARKS, json.dumps({"pubsub#max_items": str(MAX_BOOKMARKS)}), client.profile)
        except BridgeError as exc:
            log.warning("%s: bookmark of %s not published: %s", client.profile, bookmark.room.userhost(), exc)

    async def autojoin(self, client: XmppClient) -> list[Bookmark]:
        """Our bookmarks with ``autojoin`` (none when there is no node yet)."""
        pubsub_plugin = self.host.plugins["XEP-0060"]
        handler = pubsub_plugin.handlers[client.profile]
        try:
            items, _ = await pubsub_plugin.ask(
                handler.items(JID(client.jid.userhost()), NS_BOOKMARKS, MAX_BOOKMARKS), "our bookmarks")
        except NotFound:
            return []
        return [bookmark for bookmark in map(parse_bookmark, items) if bookmark is not None and bookmark.autojoin]

    async def on_events(self, batch: Sequence[Any]) -> list[None]:
        """Pubsub listener: our other devices' bookmark changes enter or leave rooms."""
        for event in batch:
            client = event.client
            if event.node != NS_BOOKMARKS or event.service.userhost() != client.jid.userhost():
                continue
            for item in event.items:
                publication = publication_of(item)
                if publication is not None and publication in self._echoes:
                    del self._echoes[publication]
                    continue
                bookmark = parse_bookmark(item)
                if bookmark is not None:
                    self._follow(client, bookmark.room, bookmark.autojoin, bookmark.nick)
            for retracted in event.retracted:
                try:
                    self._follow(client, check_room_jid(retracted), False, None)
                except InvalidArgument:
                    continue
        return [None] * len(batch)

    def _follow(self, client: XmppClient, room: JID, join: bool, nick: str | None) -> None:
        in_room = self.plugin.room_of(client.profile, room.userhost()) is not None
        if join and not in_room:
            self.plugin.enter_bookmarked(client, SavedRoom(room.userhost(), nick or ""))
        elif not join and in_room:
            run_in_background(self.plugin.leave(room.userhost(), client.profile, bookmark=False),
                              f"{client.profile}: leaving {room.userhost()} (bookmark)", client.profile)
