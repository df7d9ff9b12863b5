"""A room's messages into our history: what is taken from a room's message, what to ask
when entering it, and the catch-up from the room's archive (XEP-0313 v1.1 on the room JID).

Entering asks for the discussion history since the last message we have (XEP-0045
§7.2.14). When the room keeps an archive (``urn:xmpp:mam:2`` in its disco#info) and gives
stanza-ids, the archive is read too, page by page, after the last stanza-id of the room we
have: everything missed while away, not only the room's last 20 or so messages. What
comes twice (history, archive, live) is stored once (same stanza-id). A room may refuse
its archive to non-members (ejabberd): then the discussion history is all there is.

The catch-up is gap-aware: until it reaches the archive's end, the saved room records
the archive id it reached (:meth:`SavedRooms.mark_catch_up`). Live messages are newer
than the gap being filled, so after an interruption (session lost, no answer, the
per-entry bound) the next entry starts from that mark, not from our newest message.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import Timeout
from sat_backend.core.im.delivery_errors import parse_delivery_error
from sat_backend.core.im.message_stanza import ChatMessage
from sat_backend.plugins.muc.mentions import mentions_us
from sat_backend.core.lazy_import import lazy_module
from sat_backend.memory.history_query import HistoryQuery, JidFilter

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.core.xmpp.client import XmppClient
    from sat_backend.memory import message_changes_storage
    from sat_backend.plugins.muc.rooms import Room
    from sat_backend.plugins.muc.saved_rooms import SavedRooms
else:  # builds Core statements at import (SQLAlchemy): imported by the first change in a room
    message_changes_storage = lazy_module("sat_backend.memory.message_changes_storage")

log = logging.getLogger(__name__)

NS_MAM = "urn:xmpp:mam:2"
#: messages read from a room's archive at one entry: the rest waits for the next one
MAX_CATCH_UP_MESSAGES = 10_000
#: recent messages of a room looked at for the last stanza-id we have
RECENT_MESSAGES = 50


def as_room_message(room: Room, message: ChatMessage, own: str) -> ChatMessage:
    """A parsed message of ``room`` as history keeps it: the room's stanza-id only when the
    room says it sets them (XEP-0359 §7), its author's occupant-id only when the room says
    it gives them (XEP-0421: the changes that name the message later are checked against
    it, also for a message read from the room's archive), our reflected message
    recognisable, for a reaction who reacted (:func:`reactor_of`), and
    ``extra.mention`` when it mentions us (:func:`mentions_us`; absent otherwise).

    :param own: our bare JID.
    """
    if message.stanza_id is not None and not room.stanza_ids:
        message = replace(message, stanza_id=None)
    if message.origin_id is None and message.from_jid.resource == room.nick and message.message_id:
        # our reflected message, from a room that drops origin-ids: its id is our uid
        message = replace(message, origin_id=message.message_id)
    extra = dict(message.extra)
    if room.occupant_ids and message.occupant_id is not None:
        extra["occupant_id"] = message.occupant_id
    if message.change is None and mentions_us(
            texts=message.bodies.values(), sender_nick=message.from_jid.resource or "", own_nick=room.nick,
            references=message.mentioned, own_occupant=room.occupant_jid.full(), own_bare=own):
        extra["mention"] = True
    if message.change is not None and message.change.kind == "reactions":
        reactor = reactor_of(room, message.from_jid.resource or "", message.occupant_id, own)
        if reactor is not None:
            extra["reactor"] = reactor
    return replace(message, extra=extra) if extra != message.extra else message


def reactor_of(room: Room, nick: str, occupant_id: str | None, own: str) -> str | None:
    """Who sent a reaction in ``room``, as its reactions are kept (one set per reactor,
    XEP-0444): us (our bare JID, also for our reaction reflected by the room or sent by
    another of our devices); else ``occupant-id:ID`` in a room that gives XEP-0421
    occupant-ids (stable across nick changes, not forgeable: the room replaces any the
    sender wrote); else the occupant's real bare JID when the room shows it; else
    ``room@service/nick``. None: from the room itself, or no occupant-id where the room
    gives them (not attributable).
    """
    if not nick:
        return None
    ours = room.occupants.get(room.nick)
    if nick == room.nick or (occupant_id is not None and ours is not None and ours.occupant_id == occupant_id):
        return own
    if room.occupant_ids:
        return f"occupant-id:{occupant_id}" if occupant_id else None
    occupant = room.occupants.get(nick)
    if occupant is not None and occupant.real_jid:
        return occupant.real_jid.partition("/")[0]
    return f"{room.jid.userhost()}/{nick}"


async def recent_messages(host: Backend, profile: str, room: Room) -> list[tuple[float, str | None]]:
    """(timestamp, stanza-id) of the room's last messages in our history, newest last."""
    query = HistoryQuery(from_jid=JidFilter(room.jid.userhost()), limit=RECENT_MESSAGES, types=("groupchat",))
    return [(row.timestamp, row.stanza_id) for row in await host.storage.get_history(profile, query)]


def since_text(timestamp: float) -> str:
    """XEP-0082 date-time for ``<history since=…/>``."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def catch_up(host: Backend, client: XmppClient, room: Room, after: str | None, saved: SavedRooms) -> int:
    """Read the room's archive after ``after`` (the mark of an unfinished catch-up, else
    its stanza-id of the last message we have; None: only its latest page) to its end,
    into history; returns how many were new. An archive that lost ``after`` is read from
    its latest page (what is between is logged as missed)."""
    from sat_backend.plugins.plugin_xep_0313 import ArchiveGone

    archive, bare, profile = host.plugins["XEP-0313"], room.jid.userhost(), client.profile
    latest = after is None
    fetched = new = 0
    if after is not None:  # from now on live messages are newer than what is still missing
        await saved.mark_catch_up(profile, bare, after)
    while fetched < MAX_CATCH_UP_MESSAGES:
        try:
            page = await archive.query_archive(client, bare, after=after, latest=latest)
        except error.StanzaError as refused:  # ejabberd: "Only members may query archives of this room"
            log.info("%s: the archive of %s is not readable (%s): only its discussion history came",
                     profile, bare, refused.condition)
            return new
        except Timeout:
            log.warning("%s: the archive of %s did not answer: what it has beyond the discussion history "
                        "comes at the next entry", profile, bare)
            return new
        except ArchiveGone:
            log.warning("%s: %s no longer has message %s: messages before its latest ones are missed",
                        profile, bare, after)
            after, latest = None, True
            continue
        fetched += len(page.messages)
        stored: list[bool] = []
        await host.messaging.on_received_all(client, [
            as_room_message(room, message, client.jid.userhost()) for message in page.messages
            if message.type == "groupchat" and message.from_jid.userhost() == bare
        ], stored)
        new += sum(stored)
        if page.complete or latest or not page.last_id or page.last_id == after:
            await saved.mark_catch_up(profile, bare, None)
            break
        after = page.last_id
        await saved.mark_catch_up(profile, bare, after)
    else:
        log.warning("%s: stopped reading the archive of %s after %d messages: the next entry goes on",
                    profile, bare, fetched)
    log.info("%s: archive of %s read: %d message(s), %d new", profile, bare, fetched, new)
    return new


async def record_delivery_error(host: Backend, client: XmppClient, room: Room, element: domish.Element) -> None:
    """A room refused a message we sent (a visitor may not speak, §7.4): the error goes
    into that message's history row and ``MessageUpdate(uid, "error", …)``, as for 1:1
    messages. Our room messages are stored from the room to the room, which is how they
    are found; an error naming none of them is logged and dropped (never kept waiting)."""
    received = parse_delivery_error(element, client.jid)
    if received is None:
        return
    bare = room.jid.userhost()
    storage = host.messaging.changes.storage
    target = await storage.find_referenced(client.profile, received.reference_id, message_changes_storage.Conversation(bare, bare))
    details = received.data["error"]
    if target is None:
        log.info("%s: %s answered %s to no message of ours", client.profile, bare, details["condition"])
        return
    if await storage.set_delivery_error(target.id, details):
        host.messaging.changes.announce(target.id, "error", {"error": details}, client.profile)
