"""The tray process: the bridge client on one side, the desktop's D-Bus services on
the other, and the state between them.

Names watched on the bus (``NameOwnerChanged``): the backend (``org.salutatoi.SAT1``:
when it comes back after a restart the tray reloads profiles and counts, so the menu is
right again), the StatusNotifierWatcher (register again when the panel restarts) and
the notification server (ask its capabilities again).
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from sat_bridge.client import AsyncBridgeClient, BridgeUnavailable
from sat_bridge.errors import BridgeError
from sat_bridge.spec import BUS_NAME, full_spec
from sat_frontends.tray import notifications
from sat_frontends.tray.calls import DEFAULT_ANSWER_COMMAND, CallNotifier, IncomingCall, answer_argv
from sat_frontends.tray.dbusmenu import MENU_PATH, DBusMenu
from sat_frontends.tray.menu import Conversation, MenuModel
from sat_frontends.tray.notifications import GroupedNotifier, Key, Notifier, NotificationsClient
from sat_frontends.tray.reactions import Reaction, ReactionNotifier
from sat_frontends.tray.rooms import ALL, MENTIONS, RoomWatch, is_mention, room_summary
from sat_frontends.tray.sni import ITEM_PATH, WATCHER_NAME, StatusNotifierItem, item_bus_name, register_with_watcher
from sat_frontends.tray.state import TrayState, bare

log = logging.getLogger(__name__)

DBUS = "org.freedesktop.DBus"
WATCHED_NAMES = (BUS_NAME, WATCHER_NAME, notifications.NAME)


@dataclass(frozen=True)
class TrayOptions:
    """:param privacy: notifications without message text.
    :param open_command: how to open a conversation: a command line where ``{jid}`` and
        ``{profile}`` are replaced (no shell); none: opening only logs.
    :param answer_command: the call frontend Answer starts (``{sid}``, ``{jid}``,
        ``{profile}`` replaced).
    :param room_messages: which room messages are notified: ``mentions`` (those that
        mention us) or ``all``; every one counts as unread."""

    privacy: bool = False
    open_command: str = ""
    answer_command: str = DEFAULT_ANSWER_COMMAND
    room_messages: str = MENTIONS
    bus_address: str | None = None


def icon_theme_path() -> str:
    """Our icons' theme directory when installed in a prefix the desktop does not search
    (a virtual environment); "" when they are in a standard place or absent."""
    icons = Path(sys.prefix) / "share" / "icons"
    if sys.prefix in ("/usr", "/usr/local") or not (icons / "hicolor").is_dir():
        return ""
    return str(icons)


def launch(argv: list[str], what: str) -> None:
    """Start a program the user keeps (a call, a conversation window) in its own session,
    so that it outlives the tray: signals to the tray's process group (Ctrl-C, a session
    manager stopping it) do not reach it, and no asyncio transport closes (kills) it
    with the loop; a daemon thread logs how it exited."""
    try:
        process = subprocess.Popen(argv, start_new_session=True)
    except OSError as error:
        log.error("cannot start %s (%r): %s", what, argv[0], error)
        return

    def wait() -> None:
        log.info("%s exited with %d", what, process.wait())

    threading.Thread(target=wait, name=f"wait-{argv[0]}", daemon=True).start()


class Tray:
    def __init__(self, options: TrayOptions) -> None:
        self.options = options
        self.state = TrayState()
        self.rooms = RoomWatch(notify_all=options.room_messages == ALL)
        self._quit = asyncio.Event()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._load: asyncio.Task[None] | None = None
        self.lost = False

    # start and stop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until Quit (menu), :meth:`quit` or the end of the session bus (then
        :attr:`lost` is set)."""
        address = self.options.bus_address
        self.bus = await (MessageBus(bus_address=address) if address else MessageBus(bus_type=BusType.SESSION)).connect()
        self.bridge = AsyncBridgeClient(self.bus, full_spec())
        self.item = StatusNotifierItem(self._on_activate, icon_theme_path())
        self.menu = DBusMenu(lambda: self._menu_model().build())
        self.bus.export(ITEM_PATH, self.item)
        self.bus.export(MENU_PATH, self.menu)
        self.item_name = item_bus_name()
        await self.bus.request_name(self.item_name)
        self.bus.add_message_handler(self._on_bus_message)
        for name in WATCHED_NAMES:
            await self._add_match(f"type='signal',sender='{DBUS}',interface='{DBUS}',"
                                  f"member='NameOwnerChanged',arg0='{name}'")
        for signal_name, callback in (
            ("Connected", self._on_connected), ("Disconnected", self._on_disconnected),
            ("MessageNew", self._on_message_new), ("UnreadChanged", self._on_unread_changed),
            ("ReactionsReceived", self._on_reactions_received),
            ("CallIncoming", self._on_call_incoming), ("CallProposed", self._on_call_proposed),
            ("CallState", self._on_call_state),
        ):
            await self.bridge.on_signal(signal_name, callback)
        self.notifications_client = NotificationsClient(self.bus, self._on_action, self._on_reply, self._on_closed)
        loop = asyncio.get_running_loop()
        timing: dict[str, Any] = {"privacy": self.options.privacy, "clock": loop.time, "later": loop.call_later,
                                  "run": self._spawn}
        self.notifier = Notifier(self.notifications_client, **timing)
        self.reactions = ReactionNotifier(self.notifications_client, **timing)
        self.calls = CallNotifier(self.notifications_client, **timing)
        await self.notifications_client.start()
        await register_with_watcher(self.bus, self.item_name)
        self._reload()
        watch = asyncio.ensure_future(self.bus.wait_for_disconnect())
        watch.add_done_callback(self._bus_lost)
        await self._quit.wait()
        if self._load is not None:
            self._load.cancel()
        if not self.lost:
            watch.remove_done_callback(self._bus_lost)
            self.bus.disconnect()

    def _bus_lost(self, _watch: asyncio.Future[Any]) -> None:
        """The session bus went away (the session ends): nothing left to serve."""
        reason = None if _watch.cancelled() else _watch.exception()
        log.error("the session bus connection is lost (%s): sat-tray stops", reason or "closed")
        self.lost = True
        self._quit.set()

    def quit(self) -> None:
        self._quit.set()

    async def _add_match(self, rule: str) -> None:
        await self.bus.call(Message(destination=DBUS, path="/org/freedesktop/DBus", interface=DBUS,
                                    member="AddMatch", signature="s", body=[rule]))

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, BridgeError):
                log.warning("the backend refused: %s: %s", exc.name, exc.message)
            else:
                log.error("tray task failed", exc_info=exc)

    # backend state -----------------------------------------------------------------------

    def _reload(self) -> None:
        if self._load is not None:
            self._load.cancel()
        self._load = asyncio.ensure_future(self._load_backend())
        self._load.add_done_callback(self._done)

    async def _load_backend(self) -> None:
        """Read profiles, connections and unread counts (the backend started or came back)."""
        try:
            await self.bridge.get_ready()
            profiles = await self.bridge.profiles_list()
            state = TrayState(backend_running=True, presence=self.state.presence,
                              recent=self.state.recent, last_text=self.state.last_text,
                              own_texts=self.state.own_texts)
            for profile in profiles:
                state.profiles[profile] = await self.bridge.is_connected(profile)
                state.own_jids[profile] = await self.bridge.param_get("Connection", "JabberID", profile)
                for jid, count in (await self.bridge.unread_get("", profile)).items():
                    state.set_unread((profile, jid), count)
        except BridgeUnavailable as exc:
            log.warning("SàT backend not available (%s); waiting for it on the bus", exc.message)
            self.state.backend_gone()
            self._show()
            return
        if not any(state.profiles.values()):
            state.presence = "offline"
        elif state.presence == "offline":
            state.presence = "available"
        self.state = state
        log.info("backend state loaded: %d profile(s), %d unread", len(profiles), state.total_unread())
        self._show()

    def _show(self) -> None:
        self.item.show(self.state.look())
        self.menu.refresh()

    def _menu_model(self) -> MenuModel:
        return MenuModel(
            presence=self.state.presence, profiles=dict(self.state.profiles),
            recent=self.state.conversations(), set_presence=self.set_presence,
            toggle_profile=self.toggle_profile, open_conversation=self.open_conversation, quit=self.quit,
            backend_running=self.state.backend_running,
        )

    # menu actions ------------------------------------------------------------------------

    async def set_presence(self, show: str) -> None:
        """Presence for every profile; ``offline`` disconnects them, others connect them."""
        self.state.presence = show
        self._show()
        for profile in list(self.state.profiles):
            if show == "offline":
                await self.bridge.disconnect(profile)
                continue
            await self.bridge.connect(profile)
            await self.bridge.presence_set("", "" if show == "available" else show, {}, profile)

    async def toggle_profile(self, profile: str, connected: bool) -> None:
        if connected:
            await self.bridge.disconnect(profile)
            return
        await self.bridge.connect(profile)
        if self.state.presence in ("away", "dnd"):
            await self.bridge.presence_set("", self.state.presence, {}, profile)

    async def open_conversation(self, conversation: Conversation) -> None:
        if not self.options.open_command:
            log.info("no --open-command given: cannot open the conversation with %s", conversation.jid)
            return
        argv = [part.replace("{jid}", conversation.jid).replace("{profile}", conversation.profile)
                for part in shlex.split(self.options.open_command)]
        launch(argv, f"the conversation window of {conversation.jid}")

    def _on_activate(self) -> None:
        """A click on the icon: open the conversation that waits longest for us."""
        waiting = [c for c in self.state.conversations() if c.unread]
        if waiting:
            self._spawn(self.open_conversation(waiting[-1]))

    # bridge signals ----------------------------------------------------------------------

    def _on_connected(self, jid: str, profile: str) -> None:
        self.state.profiles[profile] = True
        self.state.own_jids[profile] = bare(jid)
        if self.state.presence == "offline":
            self.state.presence = "available"
        self._show()

    def _on_disconnected(self, profile: str) -> None:
        if profile in self.state.profiles:
            self.state.profiles[profile] = False
        if not any(self.state.profiles.values()):
            self.state.presence = "offline"
        self._show()

    def _on_message_new(self, uid: str, timestamp: float, sender: str, recipient: str,
                        bodies: dict[str, str], subjects: dict[str, str], message_type: str,
                        extra_json: str, profile: str) -> None:
        if message_type in ("chat", "normal"):
            self.state.message(profile, sender, recipient, bodies, uid)
            self.menu.refresh()
        elif message_type == "groupchat":
            self._on_room_message(profile, uid, sender, recipient, bodies, extra_json)

    def _on_room_message(self, profile: str, uid: str, sender: str, recipient: str, bodies: dict[str, str],
                         extra_json: str) -> None:
        """A room message: in the recent conversations; someone else's may be notified
        when the room's unread count goes up (a mention, or any with ``--room-messages all``)."""
        room, _, nick = sender.partition("/")
        key = (profile, room)
        if bare(recipient) == room:   # ours, sent from here to the room
            self.state.sent(key, bodies, uid)
        elif nick:
            self.state.received(key, bodies)
            self.rooms.message(key, nick, self.state.last_text.get(key, ""), is_mention(extra_json))
        self.menu.refresh()

    def _on_unread_changed(self, jid: str, count: int, profile: str) -> None:
        key = (profile, jid)
        self.state.set_unread(key, count)
        if count and self.rooms.is_room(key):
            message = self.rooms.to_notify(key)
            if message is not None:
                self.notifier.unread(key, jid, count, message.text, room_summary(message, jid))
        elif count:
            self.notifier.unread(key, jid, count, self.state.last_text.get(key, ""))
        else:
            self.rooms.read(key)
            self._spawn(self.notifier.read(key))
            self._spawn(self.reactions.read(key))
        self._show()

    def _on_reactions_received(self, uid: str, conversation: str, sender: str, added: list[str],
                               profile: str) -> None:
        self.reactions.reacted((profile, conversation),
                               Reaction(sender, tuple(added), self.state.own_texts.get(uid)))

    def _on_call_proposed(self, sid: str, peer: str, media: list[str], profile: str) -> None:
        self.calls.proposed((profile, sid), IncomingCall(peer, tuple(media)))

    def _on_call_incoming(self, sid: str, peer: str, _offer: str, media: list[str], profile: str) -> None:
        if not self.calls.incoming((profile, sid), IncomingCall(peer, tuple(media))):
            log.info("call %s from %s taken on this device", sid, peer)
            self._spawn(self.calls.read((profile, sid)))

    def _on_call_state(self, sid: str, state: str, reason: str, profile: str) -> None:
        if state == "active":
            self._spawn(self.calls.read((profile, sid)))
        elif state == "ended":
            self._spawn(self.calls.ended((profile, sid)))

    def answer_call(self, profile: str, sid: str, peer: str) -> None:
        """Start the call frontend on this call; it answers with its media engine."""
        argv = answer_argv(self.options.answer_command, sid, peer, profile)
        log.info("answering call %s from %s: %s", sid, peer, shlex.join(argv))
        launch(argv, f"the call frontend of call {sid}")

    # notification signals ----------------------------------------------------------------

    def _notifiers(self) -> tuple[GroupedNotifier[Any], ...]:
        return (self.notifier, self.reactions, self.calls)

    def _owner(self, notification_id: int) -> tuple[GroupedNotifier[Any], Key] | None:
        """The notifier that showed a notification, and its key there."""
        for notifier in self._notifiers():
            key = notifier.key_of(notification_id)
            if key is not None:
                return notifier, key
        return None

    def _on_action(self, notification_id: int, action: str) -> None:
        owner = self._owner(notification_id)
        if owner is None:
            return
        notifier, (profile, jid) = owner
        if notifier is self.calls:
            self._on_call_action(profile, jid, action)
        elif action == "mark-read":
            self._spawn(self.bridge.mark_read(jid, "", profile))
        elif action in ("open", "default"):
            if notifier is self.reactions:
                self._spawn(self.reactions.read((profile, jid)))
            self._spawn(self.open_conversation(Conversation(profile, jid)))

    def _on_call_action(self, profile: str, sid: str, action: str) -> None:
        call = self.calls.ringing.get((profile, sid))
        if call is None or action not in ("answer", "decline"):
            return
        self._spawn(self.calls.read((profile, sid)))
        if action == "decline":
            self._spawn(self.bridge.call_end(sid, "decline", profile))
        else:
            self.answer_call(profile, sid, call.peer)

    def _on_reply(self, notification_id: int, text: str) -> None:
        key = self.notifier.key_of(notification_id)
        if key is not None and text:
            profile, jid = key
            message_type = "groupchat" if self.rooms.is_room(key) else "chat"
            self._spawn(self.bridge.message_send(jid, {"": text}, {}, message_type, "{}", profile))

    def _on_closed(self, notification_id: int) -> None:
        for notifier in self._notifiers():
            notifier.closed(notification_id)

    # bus names ---------------------------------------------------------------------------

    def _on_bus_message(self, message: Message) -> None:
        if message.message_type != MessageType.SIGNAL or message.member != "NameOwnerChanged" \
                or message.sender != DBUS:
            return
        name, _old, new = message.body
        if name == BUS_NAME:
            if new:
                log.info("the SàT backend is on the bus: reloading its state")
                self._reload()
            else:
                log.warning("the SàT backend left the bus; waiting for it to come back")
                self.state.backend_gone()
                for key in list(self.calls.ringing):   # its calls ended with it
                    self._spawn(self.calls.ended(key))
                self._show()
        elif name == WATCHER_NAME and new:
            self._spawn(register_with_watcher(self.bus, self.item_name))
        elif name == notifications.NAME and new:
            self._spawn(self.notifications_client.start())

