"""``org.kde.StatusNotifierItem``: the tray icon as the freedesktop StatusNotifierItem
specification describes it, and its registration with the ``org.kde.StatusNotifierWatcher``.

The item is an object on our own bus name (``org.kde.StatusNotifierItem-PID-1``) at
``/StatusNotifierItem``; the host (the panel) reads its properties, shows ``IconName``
and opens the menu at :data:`~sat_frontends.tray.dbusmenu.MENU_PATH`. When no watcher
runs (GNOME without the AppIndicator extension) there is nothing to register with: the
tray logs it and keeps the notifications going, and registers when a watcher appears.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

from sat_frontends.tray.dbus_types import Bool, Int, Nothing, ObjectPath, Pixmaps, Str, ToolTip
from sat_frontends.tray.dbusmenu import MENU_PATH

log = logging.getLogger(__name__)

ITEM_INTERFACE = "org.kde.StatusNotifierItem"
ITEM_PATH = "/StatusNotifierItem"
WATCHER_NAME = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"


@dataclass(frozen=True)
class ItemLook:
    """What the item shows: derived from presence and unread counts by the tray."""

    status: str = "Active"          # Passive, Active or NeedsAttention (SNI spec)
    icon_name: str = "sat-tray-offline"
    title: str = "SàT"
    tooltip: str = ""


def item_bus_name() -> str:
    return f"{ITEM_INTERFACE}-{os.getpid()}-1"


class StatusNotifierItem(ServiceInterface):  # type: ignore[misc]
    """The item's properties; :meth:`show` changes them and emits the ``New*`` signals."""

    def __init__(self, on_activate: Callable[[], Any], icon_theme_path: str = "") -> None:
        super().__init__(ITEM_INTERFACE)
        self.look = ItemLook()
        self.on_activate = on_activate
        self.icon_theme_path = icon_theme_path

    def show(self, look: ItemLook) -> None:
        old, self.look = self.look, look
        if look.icon_name != old.icon_name:
            self.NewIcon()
        if look.title != old.title:
            self.NewTitle()
        if look.tooltip != old.tooltip or look.icon_name != old.icon_name:
            self.NewToolTip()
        if look.status != old.status:
            self.NewStatus(look.status)

    # properties --------------------------------------------------------------------------

    @dbus_property(access=PropertyAccess.READ)
    def Category(self) -> Str:
        return "Communications"

    @dbus_property(access=PropertyAccess.READ)
    def Id(self) -> Str:
        return "sat-tray"

    @dbus_property(access=PropertyAccess.READ)
    def Title(self) -> Str:
        return self.look.title

    @dbus_property(access=PropertyAccess.READ)
    def Status(self) -> Str:
        return self.look.status

    @dbus_property(access=PropertyAccess.READ)
    def WindowId(self) -> Int:
        return 0

    @dbus_property(access=PropertyAccess.READ)
    def IconName(self) -> Str:
        return self.look.icon_name

    @dbus_property(access=PropertyAccess.READ)
    def IconPixmap(self) -> Pixmaps:
        return []

    @dbus_property(access=PropertyAccess.READ)
    def IconThemePath(self) -> Str:
        return self.icon_theme_path

    @dbus_property(access=PropertyAccess.READ)
    def OverlayIconName(self) -> Str:
        return ""

    @dbus_property(access=PropertyAccess.READ)
    def AttentionIconName(self) -> Str:
        return "sat-tray-unread"

    @dbus_property(access=PropertyAccess.READ)
    def ToolTip(self) -> ToolTip:
        return [self.look.icon_name, [], self.look.title, self.look.tooltip]

    @dbus_property(access=PropertyAccess.READ)
    def ItemIsMenu(self) -> Bool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Menu(self) -> ObjectPath:
        return MENU_PATH

    # methods -----------------------------------------------------------------------------

    @method()
    def Activate(self, x: Int, y: Int) -> Nothing:
        self.on_activate()

    @method()
    def SecondaryActivate(self, x: Int, y: Int) -> Nothing:
        self.on_activate()

    @method()
    def ContextMenu(self, x: Int, y: Int) -> Nothing:
        pass  # the host shows the dbusmenu itself

    @method()
    def Scroll(self, delta: Int, orientation: Str) -> Nothing:
        pass

    # signals -----------------------------------------------------------------------------

    @signal()
    def NewTitle(self) -> Nothing:
        return None

    @signal()
    def NewIcon(self) -> Nothing:
        return None

    @signal()
    def NewAttentionIcon(self) -> Nothing:
        return None

    @signal()
    def NewToolTip(self) -> Nothing:
        return None

    @signal()
    def NewStatus(self, status: Str) -> Str:
        return status


async def register_with_watcher(bus: MessageBus, service: str) -> bool:
    """Tell the watcher about our item; False (and a log line) when none answers."""
    reply = await bus.call(Message(
        destination=WATCHER_NAME, path=WATCHER_PATH, interface=WATCHER_NAME,
        member="RegisterStatusNotifierItem", signature="s", body=[service],
    ))
    if reply is None or reply.message_type == MessageType.ERROR:
        error = reply.error_name if reply is not None else "no reply"
        log.warning("no StatusNotifierWatcher on the session bus (%s): the tray icon is not shown until "
                    "one starts (on GNOME: the AppIndicator extension); notifications still work", error)
        return False
    log.info("tray icon registered with the StatusNotifierWatcher as %s", service)
    return True
