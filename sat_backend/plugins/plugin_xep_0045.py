"""XEP-0045 Multi-User Chat (v1.35, namespace ``http://jabber.org/protocol/muc``): group chats.

Join (with a password; a nick in use is retried with a suffix, or refused with
``Conflict``), leave, nick change, subject, occupants with role, affiliation and real JID
when the room shows it. A room we create is made usable at once by accepting its default
configuration (instant room, §10.1.2). Room state lives in memory per profile; the rooms
we are in are persisted (password encrypted) and entered again at each connection, asking
only for the discussion history since the last message we have.

``groupchat`` messages go through the core's history: a room's XEP-0359 stanza-id
(``by`` = the room) is trusted when the room advertises ``urn:xmpp:sid:0``, so a message
the room sends again (discussion history on each join) is stored once; our own message
reflected by the room is recognised by its origin-id (we store it as ``room/nick``).
Stanza parsing is in :mod:`sat_backend.plugins.muc.stanzas`, room rules in
:mod:`sat_backend.plugins.muc.rooms`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from twisted.words.protocols.jabber import error
from twisted.words.protocols.jabber.jid import JID, InvalidFormat
from twisted.words.xish import domish

from sat_backend.core.exceptions import (
    BridgeError, Conflict, InvalidArgument, NotFound, PermissionDenied, ProfileNotConnected, Stanza, Timeout,
)
from sat_backend.core.im.background import run_in_background
from sat_backend.core.im.message_stanza import ChatMessage, new_uid, parse_message_element
from sat_backend.core.im.messaging import MAX_BODY_LENGTH, too_long
from sat_backend.core.im.xml_texts import check_texts_by_lang
from sat_backend.core.sessions import new_iq
from sat_backend.plugins.muc.administration import RoomAdministration
from sat_backend.plugins.muc.bookmarks import Bookmark, Bookmarks
from sat_backend.plugins.muc.moderation import Moderation, moderation_version
from sat_backend.plugins.muc.room_history import (
    NS_MAM, as_room_message, catch_up, recent_messages, record_delivery_error, since_text,
)
from sat_backend.plugins.muc.saved_rooms import SavedRoom, SavedRooms
from sat_backend.plugins.muc.self_ping import SelfPing
from sat_backend.plugins.muc.service_discovery import room_features
from sat_backend.plugins.muc.rooms import (
    JOINED, JOINING, Room, RoomEvent, RoomRefused, refusal_error, suffixed_nicks,
)
from sat_backend.plugins.muc.stanzas import (
    MAX_SUBJECT_LENGTH, NS_MUC, NS_OCCUPANT_ID, NS_SID, JoinOptions, check_nick,
    check_room_jid, instant_room_request, join_presence, leave_presence, nick_presence, parse_error,
    parse_join_options, subject_message, subject_of,
)
from sat_bridge.xml_text import check_xml_text

if TYPE_CHECKING:
    from sat_backend.core.host import Backend
    from sat_backend.plugins.muc.stream_handler import MucHandler
    from sat_backend.core.xmpp.client import XmppClient

log = logging.getLogger(__name__)

#: nicks tried when ours is taken (``nick``, ``nick_2``… ``nick_5``)
MAX_NICK_ATTEMPTS = 5
MAX_PASSWORD_LENGTH = 1024

PLUGIN_INFO = {
    "name": "Multi-User Chat",
    "import_name": "XEP-0045",
    "type": "XEP",
    "protocols": ["XEP-0045", "XEP-0359", "XEP-0249", "XEP-0402", "XEP-0410", "XEP-0421", "XEP-0425"],
    "dependencies": ["XEP-0030"],
    "recommendations": ["XEP-0060", "XEP-0313"],
    "main": "GroupChats",
    "handler": True,
    "description": "Group chats: rooms, occupants, subjects, room history",
}


def set_features(room: Room, features: frozenset[str]) -> None:
    """What the plugin relies on among what the room advertises (XEP-0030)."""
    room.stanza_ids = NS_SID in features
    room.occupant_ids = NS_OCCUPANT_ID in features
    room.moderation = moderation_version(features)


class GroupChats:
    """The plugin: rooms of every profile, bridge members, the core's ``group_chats``."""

    def __init__(self, host: Backend) -> None:
        self.host = host
        #: profile → room bare JID → state
        self.rooms: dict[str, dict[str, Room]] = {}
        self.administration = RoomAdministration(self)
        self.moderation = Moderation(self)
        #: XEP-0402, when the pubsub plugin is there
        self.bookmarks = Bookmarks(self) if "XEP-0060" in host.plugins else None
        self.saved = SavedRooms(host.storage, host.params.secrets)
        #: XEP-0410: rooms that forgot us are entered again
        self.self_ping = SelfPing(self, lambda: host.sessions.reactor)
        #: (profile, room) → (message id, waiter) of the subject we are setting: the room
        #: answers an error with our id, or shows the subject from our nick (Prosody
        #: sends it with an id of its own)
        self.subject_requests: dict[tuple[str, str], tuple[str, asyncio.Future[None]]] = {}

    def _make_handler(self, client: XmppClient) -> MucHandler:
        from sat_backend.plugins.muc.stream_handler import MucHandler  # issue 14: at the first connection

        return MucHandler(self, client)

    async def initialise(self) -> None:
        self.host.plugins["XEP-0030"].add_feature(NS_MUC)
        self.self_ping.register()
        self.host.sessions.add_handler_factory(self._make_handler)
        self.host.sessions.add_session_starter(self._enter_saved_rooms)
        self.host.profiles.deletion_listeners.append(self.on_profile_deleted)
        self.host.presence.room_checks.append(lambda profile, sender: self.room_of(profile, sender.userhost()) is not None)
        self.host.messaging.group_chats = self
        register = self.host.bridge.register_method
        register("MucJoin", self.join)
        register("MucLeave", self.leave)
        register("MucNickSet", self.nick_set)
        register("MucSubjectSet", self.subject_set)
        register("MucOccupantsGet", self.occupants_get)
        register("MucRoomsGet", self.rooms_get)
        for signal in ("MucRoomJoined", "MucRoomLeft", "MucOccupantChanged", "MucSubject"):
            self.host.bridge.enable_signal(signal)
        self.administration.register()
        self.moderation.register()
        if self.bookmarks is not None:
            self.bookmarks.register()

    # state -------------------------------------------------------------------------------

    def room_of(self, profile: str, address: str | None) -> Room | None:
        """The room we are in (or entering) that ``address`` (room or occupant JID) names."""
        if not address:
            return None
        bare = address.partition("/")[0]
        rooms = self.rooms.get(profile)
        if not rooms:
            return None
        room = rooms.get(bare)
        if room is None and bare.lower() != bare:  # the domain part is case-insensitive
            try:
                room = rooms.get(JID(bare).userhost())
            except (InvalidFormat, UnicodeError, IndexError, ValueError):
                return None
        return room

    def joined_room(self, profile: str, room_jid: JID) -> Room:
        room = self.rooms.get(profile, {}).get(room_jid.userhost())
        if room is None or room.state != JOINED:
            raise NotFound(f"not in room {room_jid.userhost()}: join it first (MucJoin)")
        return room

    def on_stream_lost(self, profile: str) -> None:
        """Rooms are entered again at the next connection; what waited fails now."""
        self.self_ping.forget_profile(profile)
        for room in self.rooms.get(profile, {}).values():
            room.state = JOINING
            room.forget_occupants()
            room.fail_pending(ProfileNotConnected(f"profile {profile!r} lost its connection"))

    def on_profile_deleted(self, profile: str) -> None:
        """Nothing of a deleted profile (rooms, requests, invitation passwords) may pass
        to a new profile of the same name; its rooms were saved with it in storage."""
        self.self_ping.forget_profile(profile)
        for room in self.rooms.pop(profile, {}).values():
            room.fail_pending(ProfileNotConnected(f"profile {profile!r} was deleted"))
        self.administration.forget_profile(profile)

    def announce(self, client: XmppClient, room: Room, event: RoomEvent) -> None:
        bare, profile = room.jid.userhost(), client.profile
        if event.kind == "joined":
            return  # announced by the join, once the room is usable (instant room configured)
        if event.kind == "left":
            self.rooms.get(profile, {}).pop(bare, None)
            self.self_ping.forget(profile, bare)
            if event.reason != "shutdown":  # a room shut down comes back: entered at the next connection
                run_in_background(self.saved.forget(profile, bare), f"{profile}: forgetting room {bare}", profile)
            self.host.bridge.emit("MucRoomLeft", bare, event.reason, event.text, profile)
            return
        assert event.occupant is not None
        attributes = event.occupant.attributes()
        if event.new_nick is not None:
            attributes["new_nick"] = event.new_nick
            if event.occupant.nick != room.nick and room.nick == event.new_nick:  # ours: remember it
                run_in_background(self._save(profile, room), f"{profile}: saving room {bare}", profile)
        if event.text:
            attributes["reason"] = event.text
        self.host.bridge.emit("MucOccupantChanged", bare, event.occupant.nick, event.change, attributes, profile)

    # group chat messages (the core's GroupChats) ------------------------------------------

    def occupant_jid(self, profile: str, room: JID) -> JID:
        if room.resource or not room.user:
            raise InvalidArgument("a groupchat message goes to a room's bare JID, room@service")
        return self.joined_room(profile, room).occupant_jid

    def on_error(self, client: XmppClient, element: domish.Element) -> bool:
        room = self.room_of(client.profile, element.getAttribute("from"))
        if room is None:
            return False
        request = self.subject_requests.get((client.profile, room.jid.userhost()))
        if request is not None and request[0] == element.getAttribute("id") and not request[1].done():
            request[1].set_exception(RoomRefused(parse_error(element)))
        else:
            run_in_background(record_delivery_error(self.host, client, room, element),
                              f"{client.profile}: a delivery error from {room.jid.userhost()}", client.profile)
        return True

    def on_groupchat(self, client: XmppClient, element: domish.Element) -> None:
        room = self.room_of(client.profile, element.getAttribute("from"))
        if room is None:
            log.info("%s: dropped a group chat message from a room we are not in", client.profile)
            return
        self.self_ping.note_activity(client.profile, room.jid.userhost())
        subjects = subject_of(element)
        if subjects is not None:
            self._on_subject(client, room, element, subjects)
            return
        messaging = self.host.messaging
        messaging.receive(client, lambda: self._parse_groupchat(client, room, element), "group chat message")

    def _parse_groupchat(self, client: XmppClient, room: Room, element: domish.Element) -> ChatMessage | None:
        message = parse_message_element(element, client.jid, self.host.messaging.changes.parsers,
                                        archive=room.jid.userhost())
        return None if message is None else as_room_message(room, message, client.jid.userhost())

    def _on_subject(self, client: XmppClient, room: Room, element: domish.Element, subjects: dict[str, str]) -> None:
        try:
            by = JID(element["from"]).resource or ""
        except (InvalidFormat, UnicodeError, IndexError, ValueError):
            return
        room.subject, room.subject_by = subjects, by
        request = self.subject_requests.get((client.profile, room.jid.userhost()))
        if request is not None and not request[1].done() and by == room.nick:
            request[1].set_result(None)
        self.host.bridge.emit("MucSubject", room.jid.userhost(), subjects, by, client.profile)

    # entering rooms ----------------------------------------------------------------------

    async def join(self, room_jid: str, nick: str, password: str, options_json: str, profile: str) -> str:
        room = check_room_jid(room_jid)
        options = parse_join_options(options_json)
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InvalidArgument(f"password is longer than {MAX_PASSWORD_LENGTH} characters")
        check_xml_text(password, "password")
        client = self.host.sessions.get_client(await self.host.profiles.resolve(profile))
        nick = nick or client.jid.user or client.jid.host
        check_nick(nick, room)
        password = password or self.administration.take_invitation_password(client.profile, room) or ""
        nick = await self.enter(client, room, nick, password or None, options)
        if self.bookmarks is not None:
            await self.bookmarks.publish(client, Bookmark(room, True, nick))
        return nick

    async def enter(self, client: XmppClient, room_jid: JID, nick: str, password: str | None,
                    options: JoinOptions) -> str:
        """Enter a room (or wait for the entry in progress); our nick in it once in.

        :raises Conflict: every nick tried is taken (or the one asked, without suffixes).
        :raises PermissionDenied, NotFound, InvalidArgument, Stanza: see :func:`refusal_error`.
        :raises Timeout: the room did not answer.
        """
        profile, bare = client.profile, room_jid.userhost()
        rooms = self.rooms.setdefault(profile, {})
        room = rooms.get(bare)
        if room is not None and room.state == JOINED:
            return room.nick
        if room is not None and room.attempt is not None and not room.attempt.done():
            return await asyncio.shield(room.attempt)
        room = rooms[bare] = room or Room(room_jid, nick)
        room.password = password
        attempt = room.attempt = asyncio.get_running_loop().create_future()
        try:
            nick = await self._enter(client, room, nick, options)
        except BaseException as exc:
            attempt.set_exception(exc if isinstance(exc, Exception) else Timeout("the entry was cancelled"))
            attempt.exception()  # retrieved: only concurrent callers of the same entry want it
            raise
        attempt.set_result(nick)
        return nick

    async def _enter(self, client: XmppClient, room: Room, nick: str, options: JoinOptions) -> str:
        profile, room_jid, bare = client.profile, room.jid, room.jid.userhost()
        rooms = self.rooms[profile]
        try:
            features = await room_features(self.host, client, room_jid)
            set_features(room, features)
            archived = room.stanza_ids and NS_MAM in features and "XEP-0313" in self.host.plugins
            recent = await recent_messages(self.host, profile, room)
            # the last N messages when asked for; else those since the last one we have,
            # and the room's archive is read once in when it keeps one
            # (the discussion history too: a room may keep its archive for its members, as
            # ejabberd does; what both give is stored once, by stanza-id)
            use_archive = options.history_max is None and archived
            history_max = options.history_max
            since = since_text(recent[-1][0]) if recent and history_max is None else None
            nicks = suffixed_nicks(nick, MAX_NICK_ATTEMPTS if options.nick_conflict == "suffix" else 1)
            for attempt, candidate in enumerate(nicks, 1):
                room.nick = candidate
                try:
                    await self._enter_once(client, room, history_max, since)
                    break
                except RoomRefused as refused:
                    if refused.error.condition != "conflict" or attempt == len(nicks):
                        raise refusal_error(room_jid, refused.error) from None
                    log.info("%s: nick %r taken in %s, trying %r", profile, candidate, bare, nicks[attempt])
            if room.created:
                await self._accept_default_configuration(client, room)
                set_features(room, await room_features(self.host, client, room_jid))
        except BaseException:
            if rooms.get(bare) is room and room.state != JOINED:
                del rooms[bare]
            raise
        await self._save(profile, room)
        mark = await self.saved.catch_up_mark(profile, bare) if use_archive and not room.created else None
        self.host.bridge.emit("MucRoomJoined", bare, room.nick, room.created, profile)
        run_in_background(self.self_ping.watch(client, room), f"{profile}: self-ping of {bare}", profile)
        if use_archive and not room.created:
            after = mark or next((stanza_id for _, stanza_id in reversed(recent) if stanza_id), None)
            run_in_background(catch_up(self.host, client, room, after, self.saved),
                              f"{profile}: reading the archive of {bare}", profile)
        return room.nick

    async def _enter_once(self, client: XmppClient, room: Room, history_max: int | None, since: str | None) -> None:
        room.state = JOINING
        room.forget_occupants()
        entering = room.entering = asyncio.get_running_loop().create_future()
        extensions = [extend() for extend in self.host.presence.extenders]
        client.send_stanza(join_presence(room.occupant_jid, room.password, history_max, since, extensions))
        timeout = self.host.config.request_timeout
        try:
            await asyncio.wait_for(entering, timeout)
        except asyncio.TimeoutError:
            self._send_quietly(client, leave_presence(room.occupant_jid))
            raise Timeout(f"{room.jid.userhost()} did not let us in within {timeout:g} s") from None
        except Conflict:  # left meanwhile (MucLeave, a bookmark): the room may let us in all the same
            self._send_quietly(client, leave_presence(room.occupant_jid))
            raise

    async def _accept_default_configuration(self, client: XmppClient, room: Room) -> None:
        """Unlock a room we just created with its default configuration (§10.1.2); a
        refusal is logged: the room then stays locked, as its service decided."""
        iq = new_iq(client, "set")
        iq["to"] = room.jid.userhost()
        iq.addChild(instant_room_request())
        try:
            await self.host.sessions.answer(iq.send())
        except error.StanzaError as exc:
            log.warning("%s: %s refused its default configuration: %s", client.profile, room.jid.userhost(),
                        exc.condition)

    async def _enter_saved_rooms(self, client: XmppClient) -> None:
        """Session starter: enter again, in the background (``Connect`` does not wait for
        rooms nor for the bookmarks request), the rooms we were in, and those our
        bookmarks say to (XEP-0402 ``autojoin``)."""
        run_in_background(self._enter_rooms_of_session(client), f"{client.profile}: entering rooms", client.profile)

    async def _enter_rooms_of_session(self, client: XmppClient) -> None:
        rooms = await self.saved.load(client.profile)
        known = {saved.room for saved in rooms}
        # the rooms of the last session are entered again from what is saved: one that
        # nothing says to enter any more (a profile deleted and made again) must not stay
        # "joining" for ever
        memory = self.rooms.get(client.profile, {})
        for bare in [bare for bare, room in memory.items()
                     if room.state == JOINING and (room.attempt is None or room.attempt.done())]:
            del memory[bare]
        if self.bookmarks is not None:
            rooms += [SavedRoom(bookmark.room.userhost(), bookmark.nick or "")
                      for bookmark in await self.bookmarks.autojoin(client) if bookmark.room.userhost() not in known]
        for saved in rooms:
            self.enter_bookmarked(client, saved)

    async def rejoin(self, client: XmppClient, room: Room) -> None:
        """Enter a room that forgot us (XEP-0410) as a new session does; the caller
        decides what a failure means (:meth:`entry_failed`, or trying again)."""
        await self._enter_known(client, SavedRoom(room.jid.userhost(), room.nick, room.password))

    def keep_listed(self, profile: str, room: Room) -> bool:
        """List ``room`` again as being entered (a failed entry drops it), unless another
        entry of it took its place; whether it is listed."""
        listed = self.rooms.setdefault(profile, {}).setdefault(room.jid.userhost(), room)
        if listed is room:
            room.state = JOINING
        return listed is room

    def enter_bookmarked(self, client: XmppClient, saved: SavedRoom) -> None:
        """Enter a saved or bookmarked room in the background (failures are signalled)."""
        run_in_background(self._enter_saved(client, saved), f"{client.profile}: entering {saved.room}", client.profile)

    async def _enter_saved(self, client: XmppClient, saved: SavedRoom) -> None:
        try:
            await self._enter_known(client, saved)
        except BridgeError as exc:
            await self.entry_failed(client.profile, saved.room, exc)

    async def _enter_known(self, client: XmppClient, saved: SavedRoom) -> None:
        password = saved.password
        if password is None:  # a bookmark has none (its notification may come first at login): the saved one
            password = await self.saved.password(client.profile, saved.room)
        await self.enter(client, JID(saved.room), saved.nick or client.jid.user or client.jid.host, password,
                         JoinOptions())

    async def entry_failed(self, profile: str, bare: str, exc: BridgeError) -> None:
        """Signal a room we could not enter again; one that refuses us for good is forgotten."""
        if isinstance(exc, (PermissionDenied, NotFound)):
            log.warning("%s: cannot enter %s again, forgetting it: %s", profile, bare, exc)
            await self.saved.forget(profile, bare)
        else:
            log.warning("%s: cannot enter %s again now: %s", profile, bare, exc)
        self.host.bridge.emit("MucRoomLeft", bare, "error", str(exc), profile)

    async def _save(self, profile: str, room: Room) -> None:
        await self.saved.save(profile, room.jid.userhost(), room.nick, room.password)

    # bridge members ------------------------------------------------------------------------

    async def leave(self, room_jid: str, profile: str, *, bookmark: bool = True) -> None:
        """``MucLeave``; ``bookmark``: set our bookmark's ``autojoin`` false (not when a
        bookmark change of another device is what makes us leave)."""
        room_address = check_room_jid(room_jid)
        resolved = await self.host.profiles.resolve(profile)
        await self._leave(room_address, resolved)
        if bookmark and self.bookmarks is not None and self.host.sessions.is_connected(resolved):
            await self.bookmarks.publish(self.host.sessions.get_client(resolved), Bookmark(room_address, False))

    async def _leave(self, room_address: JID, resolved: str) -> None:
        bare = room_address.userhost()
        self.self_ping.forget(resolved, bare)
        room = self.rooms.get(resolved, {}).get(bare)
        if room is None:
            if not await self.saved.contains(resolved, bare):
                raise NotFound(f"not in room {bare}")
            await self.saved.forget(resolved, bare)  # offline: entered again at no connection
            return
        if room.state != JOINED or not self.host.sessions.is_connected(resolved):
            room.fail_pending(Conflict(f"{bare} was left while we were entering it"))
            self.rooms[resolved].pop(bare, None)
            await self.saved.forget(resolved, bare)
            self.host.bridge.emit("MucRoomLeft", bare, "left", "", resolved)
            return
        client = self.host.sessions.get_client(resolved)
        leaving = room.leaving = asyncio.get_running_loop().create_future()
        client.send_stanza(leave_presence(room.occupant_jid))
        try:
            await asyncio.wait_for(leaving, self.host.config.request_timeout)
        except (asyncio.TimeoutError, RoomRefused, ProfileNotConnected):
            # out as far as we are concerned: the room will drop us when it wants
            if self.rooms.get(resolved, {}).pop(bare, None) is not None:
                await self.saved.forget(resolved, bare)
                self.host.bridge.emit("MucRoomLeft", bare, "left", "", resolved)

    async def nick_set(self, room_jid: str, nick: str, profile: str) -> None:
        room_address = check_room_jid(room_jid)
        resolved = await self.host.profiles.resolve(profile)
        check_nick(nick, room_address)
        room = self.joined_room(resolved, room_address)
        client = self.host.sessions.get_client(resolved)
        if check_nick(nick, room_address).resource == room.nick:
            return
        if room.nick_change is not None and not room.nick_change.done():
            raise InvalidArgument("a nick change of this room is already waiting for its answer")
        changing = room.nick_change = asyncio.get_running_loop().create_future()
        extensions = [extend() for extend in self.host.presence.extenders]
        client.send_stanza(nick_presence(check_nick(nick, room_address), extensions))
        try:
            await asyncio.wait_for(changing, self.host.config.request_timeout)
        except RoomRefused as refused:
            raise refusal_error(room_address, refused.error) from None
        except asyncio.TimeoutError:
            raise Timeout(f"{room_address.userhost()} did not answer the nick change") from None
        await self._save(resolved, room)

    async def subject_set(self, room_jid: str, subject: dict[str, str], profile: str) -> None:
        room_address = check_room_jid(room_jid)
        subjects = {lang: text for lang, text in subject.items() if text}
        if too_long(subjects) or sum(len(text) for text in subjects.values()) > MAX_SUBJECT_LENGTH:
            raise InvalidArgument(f"the subject is longer than {min(MAX_SUBJECT_LENGTH, MAX_BODY_LENGTH)} characters")
        check_texts_by_lang(subject, "subject")
        resolved = await self.host.profiles.resolve(profile)
        self.joined_room(resolved, room_address)
        client = self.host.sessions.get_client(resolved)
        key = (resolved, room_address.userhost())
        if key in self.subject_requests:
            raise InvalidArgument("a subject change of this room is already waiting for its answer")
        message_id = new_uid()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subject_requests[key] = (message_id, waiter)
        try:
            client.send_stanza(subject_message(room_address, subjects, message_id))
            await asyncio.wait_for(waiter, self.host.config.request_timeout)
        except RoomRefused as refused:
            if refused.error.condition == "forbidden":
                raise PermissionDenied(f"forbidden: {room_address.userhost()} does not let us change its subject") from None
            raise Stanza(f"{refused.error.describe()}: {room_address.userhost()}") from None
        except asyncio.TimeoutError:
            raise Timeout(f"{room_address.userhost()} did not show the new subject") from None
        finally:
            del self.subject_requests[key]

    async def occupants_get(self, room_jid: str, profile: str) -> list[tuple[str, dict[str, str]]]:
        room_address = check_room_jid(room_jid)
        room = self.joined_room(await self.host.profiles.resolve(profile), room_address)
        return [(nick, occupant.attributes()) for nick, occupant in sorted(room.occupants.items())]

    async def rooms_get(self, profile: str) -> list[tuple[str, str, str, dict[str, str]]]:
        resolved = await self.host.profiles.resolve(profile)
        return [(bare, room.nick, room.state, dict(room.subject))
                for bare, room in sorted(self.rooms.get(resolved, {}).items())]

    @staticmethod
    def _send_quietly(client: XmppClient, element: domish.Element) -> None:
        try:
            client.send_stanza(element)
        except ProfileNotConnected:
            pass
