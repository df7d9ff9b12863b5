"""D-Bus signatures of the desktop interfaces the tray speaks (StatusNotifierItem,
dbusmenu, notifications), in one place: the rest of the tray uses these aliases, typed
for mypy, never signature strings."""

from __future__ import annotations

from typing import Annotated, Any

from dbus_fast import Variant
from dbus_fast.annotations import DBusSignature

#: what a method without reply returns
Nothing = Annotated[None, DBusSignature("")]
Str = Annotated[str, DBusSignature("s")]
Int = Annotated[int, DBusSignature("i")]
UInt = Annotated[int, DBusSignature("u")]
Bool = Annotated[bool, DBusSignature("b")]
Strings = Annotated[list[str], DBusSignature("as")]
Ints = Annotated[list[int], DBusSignature("ai")]
AnyValue = Annotated[Variant, DBusSignature("v")]
ObjectPath = Annotated[str, DBusSignature("o")]
#: SNI ``IconPixmap``: (width, height, ARGB32 bytes) per size
Pixmaps = Annotated[list[Any], DBusSignature("a(iiay)")]
#: SNI ``ToolTip``: (icon name, icon pixmaps, title, description)
ToolTip = Annotated[list[Any], DBusSignature("(sa(iiay)ss)")]
#: dbusmenu: one item and its children, ``(id, properties, [variant of the same])``
LAYOUT_ITEM = "(ia{sv}av)"
#: several out arguments (or signal arguments) are a list, their signatures concatenated
Layout = Annotated[list[Any], DBusSignature(f"u{LAYOUT_ITEM}")]
GroupProperties = Annotated[list[Any], DBusSignature("a(ia{sv})")]
RemovedProperties = Annotated[list[Any], DBusSignature("a(ias)")]
MenuEvents = Annotated[list[Any], DBusSignature("a(isvu)")]
AboutToShowGroupReply = Annotated[list[Any], DBusSignature("aiai")]
LayoutUpdatedArgs = Annotated[list[Any], DBusSignature("ui")]
ItemsUpdatedArgs = Annotated[list[Any], DBusSignature("a(ia{sv})a(ias)")]
#: notifications: Notify's hints
HINTS = "a{sv}"
NOTIFY = f"susssas{HINTS}i"
