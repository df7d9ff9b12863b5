"""Backend exceptions: exactly the bridge error classes, so what the core raises is what
a frontend catches (``org.salutatoi.SAT1.Error.<Name>``)."""

from __future__ import annotations

from sat_bridge.errors import (
    AuthFailed,
    BridgeError,
    Conflict,
    Database,
    Internal,
    InvalidArgument,
    Network,
    NotFound,
    NotSupported,
    PermissionDenied,
    ProfileNotConnected,
    ProfileUnknown,
    Stanza,
    Timeout,
)

__all__ = [
    "AuthFailed",
    "BridgeError",
    "Conflict",
    "Database",
    "Internal",
    "InvalidArgument",
    "Network",
    "NotFound",
    "NotSupported",
    "PermissionDenied",
    "ProfileNotConnected",
    "ProfileUnknown",
    "Stanza",
    "Timeout",
]
