"""Incoming messages as ``org.freedesktop.Notifications`` (Desktop Notifications
Specification 1.2), one notification per conversation.

A conversation's notification is replaced (``replaces_id``) as messages arrive, never
stacked; updates of one conversation are rate-limited (:class:`RateLimiter`); privacy
mode leaves the text out. Actions: ``default``/``open``, ``mark-read``, and
``inline-reply`` when the server advertises that capability (KDE Plasma's extension;
the reply comes back in ``NotificationReplied``). The tray closes a conversation's
notification when the backend says it is read (here or on another device).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generic, TypeVar

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from sat_frontends.tray.dbus_types import NOTIFY

log = logging.getLogger(__name__)

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
APP_NAME = "SàT"
#: a notification body shows at most this many characters of the message
BODY_LENGTH = 200
SUMMARY_LENGTH = 100
#: a conversation's notification is updated at most once per this many seconds
MIN_INTERVAL = 3.0

Key = tuple[str, str]   # (profile, bare JID of the other end, or a call's sid)
#: what a notifier keeps for a key until its notification is shown
P = TypeVar("P")


class RateLimiter:
    """At most one update per key every ``interval`` seconds; times are given (testable)."""

    def __init__(self, interval: float = MIN_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[Key, float] = {}

    def wait(self, key: Key, now: float) -> float:
        """Seconds to wait before ``key`` may be updated (0: now)."""
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return self.interval - (now - last)
        return 0.0

    def record(self, key: Key, now: float) -> None:
        """``key`` was updated at ``now``."""
        self._last[key] = now

    def forget(self, key: Key) -> None:
        self._last.pop(key, None)


@dataclass(frozen=True)
class Content:
    """What one conversation's notification says."""

    summary: str
    body: str


def content(sender: str, count: int, text: str, privacy: bool, summary: str = "") -> Content:
    """The summary and body of a conversation's notification (body markup escaped: the
    spec lets servers read it as markup, and a message could hold ``<``).

    :param summary: what the summary says instead of "Message from ``sender``" (a room's)."""
    summary = summary or f"Message from {sender}"
    if len(summary) > SUMMARY_LENGTH:
        summary = summary[: SUMMARY_LENGTH - 1] + "…"
    if privacy or not text:
        body = "1 new message" if count == 1 else f"{count} new messages"
    else:
        shown = text if len(text) <= BODY_LENGTH else text[: BODY_LENGTH - 1] + "…"
        body = shown if count == 1 else f"{shown}\n({count} unread)"
    return Content(summary, html.escape(body, quote=False))


class NotificationsClient:
    """Calls to the notification server, and its signals routed back by notification id."""

    def __init__(self, bus: MessageBus,
                 on_action: Callable[[int, str], Any], on_reply: Callable[[int, str], Any],
                 on_closed: Callable[[int], Any]) -> None:
        self.bus = bus
        self.capabilities: set[str] = set()
        self.available = False
        self._listening = False
        self._on_action, self._on_reply, self._on_closed = on_action, on_reply, on_closed
        bus.add_message_handler(self._on_message)

    async def _call(self, member: str, signature: str = "", body: list[Any] | None = None) -> Message | None:
        reply = await self.bus.call(Message(destination=NAME, path=PATH, interface=NAME, member=member,
                                            signature=signature, body=body or []))
        if reply is None or reply.message_type == MessageType.ERROR:
            return None
        return reply

    async def _listen(self) -> None:
        rule = f"type='signal',interface='{NAME}',path='{PATH}'"
        await self.bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                                    interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                                    body=[rule]))

    async def start(self) -> bool:
        """Ask the server's capabilities; False (logged) when no server runs."""
        if not self._listening:
            self._listening = True
            await self._listen()
        reply = await self._call("GetCapabilities")
        self.available = reply is not None
        if reply is None:
            log.warning("no notification server on the session bus: incoming messages are not notified")
            return False
        self.capabilities = set(reply.body[0])
        log.info("notification server found; capabilities: %s", ", ".join(sorted(self.capabilities)))
        return True

    async def notify(self, replaces_id: int, text: Content, actions: list[str], hints: dict[str, Variant]) -> int:
        """Show (or replace) a notification; 0 when the server is gone."""
        reply = await self._call("Notify", NOTIFY, [
            APP_NAME, replaces_id, "sat-tray", text.summary, text.body, actions, hints, -1,
        ])
        return int(reply.body[0]) if reply is not None else 0

    async def close(self, notification_id: int) -> None:
        await self._call("CloseNotification", "u", [notification_id])

    def _on_message(self, message: Message) -> None:
        if message.message_type != MessageType.SIGNAL or message.interface != NAME:
            return
        log.debug("notification server: %s%r", message.member, tuple(message.body[:1]))
        if message.member == "ActionInvoked":
            self._on_action(int(message.body[0]), str(message.body[1]))
        elif message.member == "NotificationReplied":
            self._on_reply(int(message.body[0]), str(message.body[1]))
        elif message.member == "NotificationClosed":
            self._on_closed(int(message.body[0]))


@dataclass
class Shown:
    """A notification on screen, and how many things it counts (messages, reactions)."""

    notification_id: int
    count: int


class GroupedNotifier(Generic[P]):
    """One notification per key (a conversation, a call): shown, replaced through
    ``replaces_id`` (rate-limited: updates in between are gathered), closed. Subclasses
    say what is shown (:meth:`render`) with which actions.

    :param clock: monotonic time, and ``later(delay, callback)`` to schedule: given by
        the tray (the loop's), so tests may drive them.
    """

    category = "im"
    #: what the count is, for the log
    counted = "shown"
    #: seconds between two updates of a key's notification
    min_interval = MIN_INTERVAL

    def __init__(self, client: NotificationsClient, *, privacy: bool, clock: Callable[[], float],
                 later: Callable[[float, Callable[[], Any]], Any],
                 run: Callable[[Awaitable[Any]], Any], interval: float | None = None) -> None:
        self.client = client
        self.privacy = privacy
        self.clock, self.later, self.run = clock, later, run
        self.limiter = RateLimiter(self.min_interval if interval is None else interval)
        self.shown: dict[Key, Shown] = {}
        self._pending: dict[Key, P] = {}
        #: keys whose ``Notify`` call is under way, and those of them read meanwhile
        #: (their notification is closed as soon as the server gives its id)
        self._notifying: set[Key] = set()
        self._read_meanwhile: set[Key] = set()

    def key_of(self, notification_id: int) -> Key | None:
        for key, shown in self.shown.items():
            if shown.notification_id == notification_id:
                return key
        return None

    def actions(self) -> list[str]:
        return ["default", "Open", "open", "Open"]

    def hints(self) -> dict[str, Variant]:
        return {"category": Variant("s", self.category), "desktop-entry": Variant("s", "sat-tray")}

    def render(self, pending: P) -> tuple[Content, int]:
        """What the notification says, and the count it shows."""
        raise NotImplementedError

    def update(self, key: Key, pending: P) -> None:
        """Show ``pending`` for ``key`` now, or when the rate limit allows."""
        if not self.client.available:
            return
        first = key not in self._pending
        self._pending[key] = pending
        if not first:
            return  # an update is already scheduled: it will carry this one
        delay = self.limiter.wait(key, self.clock())
        if delay:
            self.later(delay, lambda: self.run(self._flush(key)))
        else:
            self.run(self._flush(key))

    async def _flush(self, key: Key) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        self.limiter.record(key, self.clock())
        shown = self.shown.get(key)
        text, count = self.render(pending)
        self._notifying.add(key)
        try:
            notification_id = await self.client.notify(shown.notification_id if shown else 0, text,
                                                       self.actions(), self.hints())
        finally:
            self._notifying.discard(key)
            read_meanwhile = key in self._read_meanwhile
            self._read_meanwhile.discard(key)
        if read_meanwhile:   # read before the server answered: it goes at once
            self.shown.pop(key, None)
            if notification_id:
                await self.client.close(notification_id)
            return
        if notification_id:
            self.shown[key] = Shown(notification_id, count)
            log.debug("notification %d for %s: %d %s", notification_id, key[1], count, self.counted)

    async def read(self, key: Key) -> None:
        """The key is done with (read, answered, ended): its notification goes."""
        self._pending.pop(key, None)
        self.limiter.forget(key)
        if key in self._notifying:
            self._read_meanwhile.add(key)
        shown = self.shown.pop(key, None)
        if shown is not None:
            await self.client.close(shown.notification_id)

    def closed(self, notification_id: int) -> None:
        """The server closed a notification (expired, dismissed): what comes next shows a new one."""
        key = self.key_of(notification_id)
        if key is not None:
            del self.shown[key]


class Notifier(GroupedNotifier[tuple[str, int, str, str]]):
    """Incoming messages: one notification per conversation, with its unread count."""

    category = "im.received"
    counted = "unread"

    def actions(self) -> list[str]:
        actions = super().actions() + ["mark-read", "Mark read"]
        if "inline-reply" in self.client.capabilities:
            actions += ["inline-reply", "Reply"]
        return actions

    def unread(self, key: Key, sender: str, count: int, text: str, summary: str = "") -> None:
        """The conversation has ``count`` unread messages, the last one (or, in a room,
        the one notified) saying ``text``; ``summary``: see :func:`content`."""
        shown = self.shown.get(key)
        if shown is not None and count <= shown.count:
            return  # fewer unread (read in part): nothing new to tell
        self.update(key, (sender, count, text, summary))

    def render(self, pending: tuple[str, int, str, str]) -> tuple[Content, int]:
        sender, count, text, summary = pending
        return content(sender, count, text, self.privacy, summary), count
