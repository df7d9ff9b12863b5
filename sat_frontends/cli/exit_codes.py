"""Exit codes of ``sat``: one per bridge error, so scripts can tell failures apart.

The table is documented in ``doc/user-guide.rst``; numbers never change once released.
"""

from __future__ import annotations

from sat_bridge.errors import BridgeError

OK = 0
#: unexpected failure (backend ``Internal`` error, or a bug in the CLI)
FAILURE = 1
#: the command line itself is wrong (argparse uses 2 too)
USAGE = 2
#: no backend is running and none could be started, or no session bus
UNAVAILABLE = 3
#: the backend is there but did not answer within ``--timeout`` seconds (it may still finish)
NO_ANSWER = 4

BY_ERROR_NAME: dict[str, int] = {
    "Internal": FAILURE,
    "Unavailable": UNAVAILABLE,
    "InvalidArgument": 10,
    "NotFound": 11,
    "ProfileUnknown": 12,
    "Conflict": 13,
    "PermissionDenied": 14,
    "ProfileNotConnected": 15,
    "AuthFailed": 16,
    "Network": 17,
    "Timeout": 18,
    "Stanza": 19,
    "Database": 20,
    "NotSupported": 21,
}


def for_error(error: BridgeError) -> int:
    """Exit code for a typed bridge error (unknown names count as a plain failure)."""
    return BY_ERROR_NAME.get(error.name, FAILURE)
