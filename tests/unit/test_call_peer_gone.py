"""Which unavailable presence ends a call (the peer's device went offline): the session's
full JID only; not another device of the same account, nor the account's bare JID (a
server's answer to a probe while no device has sent presence yet)."""

from __future__ import annotations

from twisted.words.protocols.jabber.jid import JID

from sat_backend.plugins.plugin_xep_0167 import _is_device_of

PEER = "bob@example.org/phone"


def test_the_peers_device_going_offline() -> None:
    assert _is_device_of(PEER, JID("bob@example.org/phone"))


def test_another_device_or_account_is_not_the_peer() -> None:
    assert not _is_device_of(PEER, JID("bob@example.org/laptop"))
    assert not _is_device_of(PEER, JID("carol@example.org/phone"))
    assert not _is_device_of(PEER, JID("example.org"))
    assert not _is_device_of(PEER, JID("bob@example.org"))
