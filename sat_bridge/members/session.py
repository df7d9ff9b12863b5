"""XMPP session members of the core interface: connect, disconnect, state signals."""

from __future__ import annotations

from sat_bridge.members.core import PROFILE
from sat_bridge.spec import Arg, Member, Method, Signal

SESSION_MEMBERS: tuple[Member, ...] = (
    Method(
        "Connect",
        "core",
        (PROFILE,),
        "b",
        "Open the profile's XMPP session (returns once authenticated). Lost connections are "
        "then re-opened with backoff until ``Disconnect``. ``AuthFailed`` when the server "
        "refuses the credentials, ``Network``/``Timeout`` when it cannot be reached or TLS "
        "fails, ``InvalidArgument`` when the profile has no password or asks for no TLS to a "
        "host that is not loopback.",
        out_doc="true if a new session was opened, false if it was already connected",
    ),
    Method(
        "Disconnect",
        "core",
        (PROFILE,),
        "",
        "Close the profile's session and stop reconnecting (no error if it was not connected).",
    ),
    Method(
        "IsConnected",
        "core",
        (PROFILE,),
        "b",
        "Whether the profile's XMPP session is open now.",
    ),
    Signal(
        "Connected",
        "core",
        (Arg("jid", "s", "full JID bound by the server"), Arg("profile", "s", "profile")),
        "A profile's session opened (first connection or reconnection).",
    ),
    Signal(
        "Disconnected",
        "core",
        (Arg("profile", "s", "profile"),),
        "A profile's session closed (by ``Disconnect`` or lost; a lost one is being re-opened).",
    ),
)
