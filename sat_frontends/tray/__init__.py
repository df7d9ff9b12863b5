"""``sat-tray``: the desktop's view of SàT, a StatusNotifierItem with a dbusmenu menu
and freedesktop notifications, talking to the backend only through
:mod:`sat_bridge.client` and to the desktop over D-Bus with dbus-fast (no toolkit)."""
