"""JID validation at the edge, with Twisted's RFC 7622 preparation (nodeprep/nameprep)."""

from __future__ import annotations

from twisted.words.protocols.jabber.jid import JID, InvalidFormat

from sat_backend.core.exceptions import InvalidArgument

MAX_JID_LENGTH = 3071  # three parts of at most 1023 bytes plus separators (RFC 7622 §3.1)


def parse_jid(value: str, where: str = "jid") -> JID:
    """Parse and prepare a JID.

    :raises InvalidArgument: empty, too long or malformed.
    """
    if not value or len(value) > MAX_JID_LENGTH or any(ord(c) < 32 for c in value):
        raise InvalidArgument(f"{where}: {value!r} is not a valid JID")
    try:
        return JID(value)
    except (InvalidFormat, UnicodeError, ValueError, IndexError) as exc:  # IndexError: empty label ("a@b..c")
        raise InvalidArgument(f"{where}: {value!r} is not a valid JID ({exc})") from None


def parse_bare_jid(value: str, where: str = "jid") -> str:
    """Canonical ``user@domain`` of an account JID (no resource, user part required).

    :raises InvalidArgument: not a JID, no user part, or a resource given.
    """
    parsed = parse_jid(value, where)
    if not parsed.user:
        raise InvalidArgument(f"{where}: {value!r} has no user part (expected user@domain)")
    if parsed.resource:
        raise InvalidArgument(f"{where}: {value!r} must be a bare JID, without /resource")
    return parsed.userhost()
