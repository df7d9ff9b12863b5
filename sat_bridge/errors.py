"""Typed errors of the SàT bridge, shared by the backend and every frontend.

The bridge contract names each error ``org.salutatoi.SAT1.Error.<Name>``. One Python
class per name lives here so that the backend raises exactly what a frontend catches:
the backend core re-exports these classes (``sat_backend.core.exceptions``) and the
bridge client turns every D-Bus error reply back into the matching class.
"""

from __future__ import annotations

ERROR_PREFIX = "org.salutatoi.SAT1.Error."

#: longest error message sent on the wire: a message quoting a huge argument once made a
#: multi-megabyte reply per call (and knocked the daemon off the bus under load)
MAX_MESSAGE_LENGTH = 1024


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    suffix = f"… ({len(text) - limit} more characters)"
    kept = max(limit - len(suffix), 0)
    return text[:kept] + suffix[: limit - kept]


class BridgeError(Exception):
    """Base of every error that crosses the bridge.

    :param message: human-readable text; it is sent on the wire, so it must never
        contain a secret (passwords are never put in an error message); it is cut to
        :data:`MAX_MESSAGE_LENGTH` characters, whatever value it quotes.
    """

    #: short name, appended to :data:`ERROR_PREFIX` on the wire
    name = "Internal"

    def __init__(self, message: str = "") -> None:
        message = shorten(message, MAX_MESSAGE_LENGTH)
        super().__init__(message)
        self.message = message

    @property
    def dbus_name(self) -> str:
        return ERROR_PREFIX + self.name

    def __str__(self) -> str:
        return self.message or self.name


class NotFound(BridgeError):
    """The requested thing (node, item, message, contact…) does not exist."""

    name = "NotFound"


class InvalidArgument(BridgeError):
    """An argument of a bridge call is malformed or out of range."""

    name = "InvalidArgument"


class ProfileUnknown(BridgeError):
    """No profile has this name (or no default profile exists yet)."""

    name = "ProfileUnknown"


class ProfileNotConnected(BridgeError):
    """The operation needs an XMPP session and the profile has none."""

    name = "ProfileNotConnected"


class Conflict(BridgeError):
    """The thing to create already exists, or the request contradicts the current state."""

    name = "Conflict"


class PermissionDenied(BridgeError):
    """The caller may not do this (e.g. read a password parameter)."""

    name = "PermissionDenied"


class AuthFailed(BridgeError):
    """The XMPP server refused our credentials."""

    name = "AuthFailed"


class Timeout(BridgeError):
    """A remote entity did not answer in time."""

    name = "Timeout"


class Network(BridgeError):
    """The network or the remote server could not be reached."""

    name = "Network"


class Stanza(BridgeError):
    """An XMPP stanza error; the message starts with the condition (``item-not-found: …``)."""

    name = "Stanza"


class Database(BridgeError):
    """The storage layer failed, or the database is unusable (corrupt, foreign, too new)."""

    name = "Database"


class NotSupported(BridgeError):
    """The feature is not available (on this service, profile or build)."""

    name = "NotSupported"


class Internal(BridgeError):
    """An unexpected failure inside the backend; the log has the details."""

    name = "Internal"


#: every error class by its short name, the single table used to map errors both ways
ERRORS_BY_NAME: dict[str, type[BridgeError]] = {
    cls.name: cls
    for cls in (
        NotFound,
        InvalidArgument,
        ProfileUnknown,
        ProfileNotConnected,
        Conflict,
        PermissionDenied,
        AuthFailed,
        Timeout,
        Network,
        Stanza,
        Database,
        NotSupported,
        Internal,
    )
}


def error_from_dbus(dbus_name: str, message: str) -> BridgeError:
    """Rebuild the typed error from a D-Bus error reply.

    Errors outside our namespace (e.g. ``org.freedesktop.DBus.Error.ServiceUnknown``)
    become :class:`Internal`, keeping the original name in the message so nothing is hidden.
    """
    if dbus_name.startswith(ERROR_PREFIX):
        cls = ERRORS_BY_NAME.get(dbus_name[len(ERROR_PREFIX) :])
        if cls is not None:
            return cls(message)
    return Internal(f"{dbus_name}: {message}" if message else dbus_name)
