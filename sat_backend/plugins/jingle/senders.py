"""SDP directions ⇄ Jingle ``senders`` (XEP-0166 §7.3, XEP-0167 §6, XEP-0294).

An SDP direction is said from its author's side (``sendonly``: the author sends); Jingle's
``senders`` names the party, so the mapping depends on who wrote the description: the
initiator (an offer in session-initiate) or the responder (an answer in session-accept).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from sat_backend.core.exceptions import InvalidArgument

if TYPE_CHECKING:
    from sat_backend.plugins.jingle.model import Direction

Role = Literal["initiator", "responder"]
ROLES: tuple[Role, ...] = ("initiator", "responder")
SENDERS = ("both", "initiator", "responder", "none")


def _other(role: Role) -> Role:
    return "responder" if role == "initiator" else "initiator"


def senders_of(direction: Direction, author: Role) -> str:
    """The ``senders`` value of ``direction`` written by ``author``."""
    if direction == "sendrecv":
        return "both"
    if direction == "inactive":
        return "none"
    return author if direction == "sendonly" else _other(author)


def direction_of(senders: str, author: Role) -> Direction:
    """The SDP direction ``author`` writes for ``senders``.

    :raises InvalidArgument: an unknown ``senders`` value.
    """
    if senders not in SENDERS:
        raise InvalidArgument("senders is not both, initiator, responder nor none")
    if senders == "both":
        return "sendrecv"
    if senders == "none":
        return "inactive"
    return "sendonly" if senders == author else "recvonly"
