"""``com.canonical.dbusmenu`` (the menu protocol of StatusNotifierItem hosts) serving a
:class:`~sat_frontends.tray.menu.MenuItem` tree.

The host asks for the layout (``GetLayout``) when it opens the menu and sends
``Event(id, "clicked", …)`` when the user picks an entry; when the tray's state changes
we bump the revision and emit ``LayoutUpdated`` so the host asks again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from dbus_fast import Variant
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

from sat_frontends.tray.dbus_types import (
    LAYOUT_ITEM,
    AboutToShowGroupReply,
    AnyValue,
    Bool,
    GroupProperties,
    Int,
    Ints,
    ItemsUpdatedArgs,
    Layout,
    LayoutUpdatedArgs,
    MenuEvents,
    Nothing,
    RemovedProperties,
    Str,
    Strings,
    UInt,
)
from sat_frontends.tray.menu import IdRegistry, MenuItem, find

log = logging.getLogger(__name__)

INTERFACE = "com.canonical.dbusmenu"
MENU_PATH = "/MenuBar"
#: dbusmenu protocol version we follow
VERSION = 3


def variant_of(value: Any) -> Variant:
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("i", value)
    return Variant("s", str(value))


class DBusMenu(ServiceInterface):  # type: ignore[misc]
    """The menu object; :meth:`set_root` replaces the tree (from the tray's state)."""

    def __init__(self, build: Callable[[], MenuItem]) -> None:
        super().__init__(INTERFACE)
        self._build = build
        self.ids = IdRegistry()
        self.revision = 1
        self.root = build()

    def refresh(self) -> None:
        """Rebuild the tree from the state and tell the host when it changed."""
        root = self._build()
        if self._layout(root, -1, []) == self._layout(self.root, -1, []):
            return
        self.root = root
        self.revision += 1
        self.LayoutUpdated(self.revision, 0)

    def _properties(self, item: MenuItem, names: list[str]) -> dict[str, Variant]:
        properties = dict(item.properties)
        if item.children:
            properties.setdefault("children-display", "submenu")
        return {key: variant_of(value) for key, value in properties.items() if not names or key in names}

    def _layout(self, item: MenuItem, depth: int, names: list[str]) -> list[Any]:
        children = [] if depth == 0 else [
            Variant(LAYOUT_ITEM, self._layout(child, depth - 1, names)) for child in item.children
        ]
        return [self.ids.id_of(item.key), self._properties(item, names), children]

    def _find(self, item_id: int) -> MenuItem | None:
        return find(self.root, self.ids, item_id)

    def activate(self, item_id: int) -> bool:
        """Run the action of an item (a click); False for an unknown id."""
        item = self._find(item_id)
        if item is None:
            return False
        if item.action is not None:
            result = item.action()
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(_log_failure)
        return True

    # methods -----------------------------------------------------------------------------

    @method()
    def GetLayout(self, parent_id: Int, recursion_depth: Int, property_names: Strings) -> Layout:
        item = self._find(parent_id) or self.root
        return [self.revision, self._layout(item, recursion_depth, property_names)]

    @method()
    def GetGroupProperties(self, ids: Ints, property_names: Strings) -> GroupProperties:
        found = [(item_id, self._find(item_id)) for item_id in ids]
        return [[item_id, self._properties(item, property_names)] for item_id, item in found if item is not None]

    @method()
    def GetProperty(self, item_id: Int, name: Str) -> AnyValue:
        item = self._find(item_id)
        return variant_of(item.properties.get(name, "") if item is not None else "")

    @method()
    def Event(self, item_id: Int, event_id: Str, data: AnyValue, timestamp: UInt) -> Nothing:
        if event_id == "clicked":
            self.activate(item_id)

    @method()
    def EventGroup(self, events: MenuEvents) -> Ints:
        errors = []
        for item_id, event_id, _data, _timestamp in events:
            if self._find(item_id) is None:
                errors.append(item_id)
            elif event_id == "clicked":
                self.activate(item_id)
        return errors

    @method()
    def AboutToShow(self, item_id: Int) -> Bool:
        return False

    @method()
    def AboutToShowGroup(self, ids: Ints) -> AboutToShowGroupReply:
        return [[], [item_id for item_id in ids if self._find(item_id) is None]]

    # signals -----------------------------------------------------------------------------

    @signal()
    def LayoutUpdated(self, revision: UInt, parent: Int) -> LayoutUpdatedArgs:
        return [revision, parent]

    @signal()
    def ItemsPropertiesUpdated(self, updated: GroupProperties, removed: RemovedProperties) -> ItemsUpdatedArgs:
        return [updated, removed]

    # properties --------------------------------------------------------------------------

    @dbus_property(access=PropertyAccess.READ)
    def Version(self) -> UInt:
        return VERSION

    @dbus_property(access=PropertyAccess.READ)
    def TextDirection(self) -> Str:
        return "ltr"

    @dbus_property(access=PropertyAccess.READ)
    def Status(self) -> Str:
        return "normal"

    @dbus_property(access=PropertyAccess.READ)
    def IconThemePath(self) -> Strings:
        return []


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a menu action failed: %s", task.exception())
