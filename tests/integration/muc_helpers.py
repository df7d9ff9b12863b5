"""Shared steps of the group chat tests: profiles on the backend, slixmpp occupants."""

from __future__ import annotations

import uuid
from typing import Any, Callable

from slixmpp import JID

from sat_bridge.client import BridgeClient
from tests.fixtures.backend import SignalRecorder
from tests.fixtures.xmpp_peer import XmppPeer

MUC_SIGNALS = ("MucRoomJoined", "MucRoomLeft", "MucOccupantChanged", "MucSubject", "MessageNew", "MessageUpdate",
               "Connected")


def new_room(service: str = "chat.localhost") -> str:
    """A room name no earlier test used (the session server keeps rooms: they persist)."""
    return f"room-{uuid.uuid4().hex[:10]}@{service}"


def peer_joins(peer: XmppPeer, room: str, nick: str, **history: Any) -> None:
    """The slixmpp occupant enters ``room`` (no discussion history unless asked)."""
    history.setdefault("maxstanzas", 0)
    peer.call(lambda xmpp: xmpp.plugin["xep_0045"].join_muc_wait(JID(room), nick, **history))


def peer_says(peer: XmppPeer, room: str, text: str) -> str:
    return peer.send_message(room, text, mtype="groupchat")


def room_message(room: str, text: str, profile: str) -> Callable[..., bool]:
    """``MessageNew`` of a groupchat message of ``room`` with body ``text`` for ``profile``."""
    return lambda uid, ts, sender, to, message, subject, mtype, extra, who: (
        sender.split("/")[0] == room and message.get("") == text and mtype == "groupchat" and who == profile
    )


def occupant_change(room: str, nick: str, change: str, profile: str) -> Callable[..., bool]:
    return lambda room_jid, who, kind, attributes, owner: (room_jid, who, kind, owner) == (room, nick, change, profile)


def room_bodies(client: BridgeClient, room: str, profile: str) -> list[str]:
    """Bodies of the room's messages in the profile's history, oldest first (``sat history ROOM``)."""
    rows = client.history_get(room, "", 0, True, "{}", profile)
    return [row[4].get("", "") for row in rows if row[6] == "groupchat"]


def joined(signals: SignalRecorder, room: str, profile: str) -> tuple[Any, ...]:
    return signals.wait_for("MucRoomJoined", lambda room_jid, nick, created, who: (room_jid, who) == (room, profile))
