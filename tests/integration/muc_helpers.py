"""Shared fixtures and steps of the group chat tests: profiles on the backend, slixmpp
occupants. A test module imports the fixtures it uses (``profiles``, ``carol``)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Iterator

import pytest
from slixmpp import JID

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.xmpp_helpers import connected_profiles

MUC_SIGNALS = ("MucRoomJoined", "MucRoomLeft", "MucOccupantChanged", "MucSubject", "MessageNew", "MessageUpdate",
               "Connected", "MucInvited", "ReactionsReceived")

Profiles = tuple[BridgeClient, SignalRecorder]


@pytest.fixture
def profiles(backend: BackendProcess, fresh_xmpp_server: XmppServer) -> Iterator[Profiles]:
    """alice and bob on the backend, connected; a recorder of the group chat signals."""
    client = backend.client
    assert client is not None
    with connected_profiles(client, fresh_xmpp_server):
        yield client, SignalRecorder(client, *MUC_SIGNALS)


@pytest.fixture
def carol(fresh_xmpp_server: XmppServer) -> Iterator[XmppPeer]:
    """carol, a slixmpp client, connected (she enters rooms with :func:`peer_joins`)."""
    peer = connected_peer(fresh_xmpp_server, "carol", XMPP_ACCOUNTS["carol"])
    yield peer
    peer.disconnect()


def new_room(service: str = "chat.localhost") -> str:
    """A room name no earlier test used (the session server keeps rooms: they persist)."""
    return f"room-{uuid.uuid4().hex[:10]}@{service}"


def peer_joins(peer: XmppPeer, room: str, nick: str, **history: Any) -> None:
    """The slixmpp occupant enters ``room`` (no discussion history unless asked)."""
    history.setdefault("maxstanzas", 0)
    peer.call(lambda xmpp: xmpp.plugin["xep_0045"].join_muc_wait(JID(room), nick, **history))


def three_in_a_room(profiles: Profiles, carol: XmppPeer) -> str:
    """A new room with alice (its owner, so a moderator), bob and carol in it; its JID."""
    client, signals = profiles
    room = new_room()
    client.muc_join(room, "alice", "", "{}", "alice")
    client.muc_join(room, "bob", "", "{}", "bob")
    peer_joins(carol, room, "carol")
    signals.wait_for("MucOccupantChanged", occupant_change(room, "carol", "joined", "bob"))
    return room


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


def protect(client: BridgeClient, room: str, password: str, profile: str = "alice") -> None:
    """Give a room a password through its configuration (as an owner): Prosody also takes
    the one its creator entered with, ejabberd does not."""
    fields = json.loads(client.muc_config_get(room, profile))["fields"]
    options: dict[str, Any] = {"muc#roomconfig_roomsecret": password}
    if "muc#roomconfig_passwordprotectedroom" in fields:   # ejabberd: the secret alone is not enough
        options["muc#roomconfig_passwordprotectedroom"] = True
    client.muc_config_set(room, json.dumps(options), profile)
