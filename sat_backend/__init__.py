"""SàT backend: the daemon that holds XMPP sessions, runs the plugins and owns all state."""

__version__ = "0.1.0.dev0"
