"""Checks ``sat`` makes around bridge calls, so that errors speak of what the user typed.

Some commands take profiles only as filters (``monitor -p``, ``pubsub cache search -p``):
the backend never sees a name it would refuse, so a typo would filter everything out in
silence. Others get errors naming a bridge argument (``from_jid``) where the user typed a
command-line one (``JID``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument, ProfileUnknown

#: characters of a user-given name shown in an error at most
SHOWN_CHARACTERS = 64


def shown(text: str) -> str:
    """``text`` quoted for an error message, cut when long: errors never echo unbounded input."""
    if len(text) <= SHOWN_CHARACTERS:
        return repr(text)
    return repr(text[:SHOWN_CHARACTERS]) + "…"


async def require_profiles(client: AsyncBridgeClient, names: Iterable[str], timeout: float) -> None:
    """Check that every named profile exists.

    :raises ProfileUnknown: naming the first unknown profile.
    """
    wanted = list(names)
    if not wanted:
        return
    existing = set(await client.profiles_list(timeout=timeout))
    for name in wanted:
        if name not in existing:
            raise ProfileUnknown(f"no profile named {shown(name)} (see sat profile list)")


@contextmanager
def argument_names(names: dict[str, str]) -> Iterator[None]:
    """Re-word ``InvalidArgument`` errors that start with a bridge argument name
    (``from_jid: …``, the backend's convention) to name the command-line argument."""
    try:
        yield
    except InvalidArgument as error:
        bridge_name, separator, rest = (error.message or "").partition(": ")
        if not separator or bridge_name not in names:
            raise
        raise InvalidArgument(f"{names[bridge_name]}: {rest}") from None
