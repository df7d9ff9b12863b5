"""Shared steps of the XMPP integration tests: profiles pointing at the test Prosody."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator

from sat_bridge.client import BridgeClient
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer


def create_xmpp_profile(
    client: BridgeClient, prosody: ProsodyServer, user: str, *, profile: str | None = None,
    tls: str = "required", password: str | None = None, **options: Any,
) -> str:
    """A profile for ``user@localhost`` on the test server, trusting its CA. Returns its name."""
    name = profile or user
    port = prosody.c2s_direct_tls_port if tls == "direct" else prosody.c2s_port
    settings = {"host": prosody.host, "port": port, "tls": tls, "ca_file": str(prosody.ca_file), **options}
    client.profile_create(name, f"{user}@{prosody.domain}", password or XMPP_ACCOUNTS[user], json.dumps(settings))
    return name


def connect_contacts(client: BridgeClient, prosody: ProsodyServer, signals: SignalRecorder,
                     users: tuple[str, ...] = ("alice", "bob")) -> dict[str, str]:
    """Profiles of ``users`` created and connected, each in the others' roster; returns
    their full JIDs. ``signals`` must record ``Connected`` and ``ContactNew``."""
    jids = {}
    for user in users:
        create_xmpp_profile(client, prosody, user)
        client.connect(user)
        jids[user] = signals.wait_for("Connected", lambda jid, profile, user=user: profile == user)[0]
    for user in users:
        for contact in users:
            if contact != user:
                client.contact_add(f"{contact}@localhost", user)
                signals.wait_for("ContactNew", lambda jid, *rest, user=user, contact=contact:
                                 jid == f"{contact}@localhost" and rest[-1] == user)
    return jids


@contextmanager
def connected_profile(backend: BackendProcess, prosody: ProsodyServer, user: str) -> Iterator[BridgeClient]:
    """The backend's client with ``user``'s profile created and connected (disconnected after)."""
    client = backend.client
    assert client is not None
    create_xmpp_profile(client, prosody, user)
    client.connect(user)
    try:
        yield client
    finally:
        client.disconnect(user)


def exchange(client: BridgeClient, signals: SignalRecorder, sender: str, recipient: str, text: str) -> None:
    """Profile ``sender`` sends ``text`` to ``recipient``@localhost; returns once
    ``recipient`` has it (``signals`` records ``MessageNew``).

    Also a barrier: what ``sender`` sent before (its initial presence, without which the
    server keeps messages to its bare JID offline) has reached the server.
    """
    client.message_send(f"{recipient}@localhost", {"": text}, {}, "chat", "{}", sender)
    signals.wait_for("MessageNew", lambda *args: args[4] == {"": text} and args[-1] == recipient)


@contextmanager
def connected_profiles(client: BridgeClient, prosody: ProsodyServer,
                       users: tuple[str, ...] = ("alice", "bob")) -> Iterator[None]:
    """Profiles of ``users`` created and connected for the block, disconnected after."""
    for user in users:
        create_xmpp_profile(client, prosody, user)
        client.connect(user)
    try:
        yield
    finally:
        for user in users:
            client.disconnect(user)
