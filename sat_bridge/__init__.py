"""SàT bridge: the one declarative spec of the D-Bus API and everything derived from it."""
