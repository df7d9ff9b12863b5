"""JID validation at the edge, with Twisted's RFC 7622 preparation (nodeprep/nameprep)."""

from __future__ import annotations

from twisted.words.protocols.jabber.jid import JID, InvalidFormat

from sat_backend.core.exceptions import InvalidArgument
from sat_bridge.xml_text import forbidden_xml_char

MAX_JID_LENGTH = 3071  # three parts of at most 1023 bytes plus separators (RFC 7622 §3.1)
#: characters of a refused value quoted in its error message (the rest is cut, never echoed)
SHOWN_LENGTH = 80
def parse_jid(value: str, where: str = "jid") -> JID:
    """Parse and prepare a JID.

    Twisted accepts an empty local part (``@domain``) or resource (``domain/``), which
    RFC 7622 §3.3.1 and §3.4.1 forbid, and its nameprep fails with ``IndexError`` on an
    empty domain label (``a@.``): both are refused here.

    :raises InvalidArgument: empty, too long or malformed; the message quotes at most
        :data:`SHOWN_LENGTH` characters of ``value``.
    """
    if not value or len(value) > MAX_JID_LENGTH or forbidden_xml_char(value) is not None:
        raise InvalidArgument(f"{where}: {_shown(value)} is not a valid JID")
    try:
        parsed = JID(value)
    except IndexError:
        raise InvalidArgument(f"{where}: {_shown(value)} is not a valid JID (empty label in the domain)") from None
    except (InvalidFormat, UnicodeError, ValueError) as exc:
        raise InvalidArgument(f"{where}: {_shown(value)} is not a valid JID ({_shown(str(exc))})") from None
    local, at, _ = value.partition("/")[0].rpartition("@")
    if (at and not local) or value.endswith("/"):
        raise InvalidArgument(f"{where}: {_shown(value)} is not a valid JID (empty local part or resource)")
    return parsed


def parse_bare_jid(value: str, where: str = "jid") -> str:
    """Canonical ``user@domain`` of an account JID (no resource, user part required).

    :raises InvalidArgument: not a JID, no user part, or a resource given.
    """
    parsed = parse_jid(value, where)
    if not parsed.user:
        raise InvalidArgument(f"{where}: {_shown(value)} has no user part (expected user@domain)")
    if parsed.resource:
        raise InvalidArgument(f"{where}: {_shown(value)} must be a bare JID, without /resource")
    return parsed.userhost()


def _shown(value: str) -> str:
    """``value`` as quoted in an error: repr, cut to :data:`SHOWN_LENGTH` characters."""
    if len(value) <= SHOWN_LENGTH:
        return repr(value)
    return f"{value[:SHOWN_LENGTH]!r}… ({len(value)} characters)"


def cache_jid_preparation(size: int = 4096) -> None:
    """Memoise Twisted's JID preparation for the whole process (the launcher calls it).

    ``JID(text)`` runs stringprep on every part (~50-90 µs), and every stanza's ``from``
    and ``to`` are parsed again by tx-xmpp (pubsub notifications: twice each): a pure
    function of the three parts, so a bounded LRU of it is safe. Refusals are not cached
    (raised). The one JID cache of the process: with it, ``JID(text)`` of a known address
    is ~0.7 µs, so a second cache of whole ``JID`` objects (there was one, of 1,024) saved
    under 1 µs per address and shared mutable objects between callers."""
    from functools import lru_cache

    from twisted.words.protocols.jabber import jid as twisted_jid

    if not hasattr(twisted_jid.prep, "cache_info"):
        twisted_jid.prep = lru_cache(maxsize=size)(twisted_jid.prep)
