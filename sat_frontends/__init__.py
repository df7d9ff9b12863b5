"""Frontends shipped with SàT. They talk to the backend only through :mod:`sat_bridge`."""
