"""Retractions (XEP-0424 ``urn:xmpp:message-retract:1``, XEP-0428 fallback) on a real
Prosody and ejabberd, with slixmpp and its xep_0424 plugin as the other end: a tombstone stays."""

from __future__ import annotations

import json

import pytest

from sat_bridge import errors
from tests.fixtures.backend import BackendProcess
from tests.fixtures.xmpp_peer import XmppPeer
from tests.integration.message_changes_helpers import (  # noqa: F401 - fixtures
    NS_FALLBACK,
    NS_HINTS,
    NS_RETRACT,
    Alice,
    alice,
    carol,
    carol_sends,
    features_of,
    has_child,
    history_row,
    history_uids,
    wait_update,
)
from tests.integration.test_cli import sat

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd


def test_peer_retraction_leaves_a_tombstone(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    carol_id, uid = carol_sends(carol, signals, "oops")
    carol.send_correction("alice@localhost", carol_id, "oops!")
    wait_update(signals, uid, "edit")
    carol.send_reactions("alice@localhost", carol_id, ["👍"])
    wait_update(signals, uid, "reactions")

    carol.send_retraction("alice@localhost", carol_id)
    retracted = wait_update(signals, uid, "retract")
    assert retracted["by"] == "carol@localhost" and retracted["retracted"] > 0
    row = history_row(client, uid)
    assert row[4] == {}                                      # no text left, nor previous texts
    extra = json.loads(row[7])
    assert extra["retracted"] > 0 and "edits" not in extra and "reactions" not in extra
    # the retraction (with its fallback body) did not become a message
    assert history_uids(client) == [uid]
    with pytest.raises(errors.Conflict):
        client.message_reactions_set(uid, ["👍"], "add", "alice")


def test_we_retract_our_message(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    uid = client.message_send("carol@localhost", {"": "regrets"}, {}, "chat", "{}", "alice")
    carol.wait_message(lambda message: message["body"] == "regrets")

    # someone else may not retract our message: ignored (spoofing), history unchanged
    carol.send_retraction("alice@localhost", uid)
    carol_sends(carol, signals, "sync point")
    assert history_row(client, uid)[4] == {"": "regrets"}

    client.message_retract(uid, "alice")
    got = carol.wait_message(has_child(NS_RETRACT, "retract"))
    assert got["retract"]["id"] == uid and got["id"] != uid
    fallback = got.xml.find(f"{{{NS_FALLBACK}}}fallback")
    assert fallback is not None and fallback.get("for") == NS_RETRACT and got["body"]
    assert got.xml.find(f"{{{NS_HINTS}}}store") is not None
    assert wait_update(signals, uid, "retract")["by"] == "alice@localhost"
    assert history_row(client, uid)[4] == {}
    assert [args[1] for name, args in signals.history if name == "MessageUpdate" and args[0] == uid] == ["retract"]

    with pytest.raises(errors.Conflict):
        client.message_retract(uid, "alice")
    with pytest.raises(errors.Conflict):
        client.message_edit(uid, {"": "again"}, "{}", "alice")
    _, theirs = carol_sends(carol, signals, "not yours")
    with pytest.raises(errors.PermissionDenied):
        client.message_retract(theirs, "alice")
    for uid_argument in ("no-such-uid", "", "x" * 65):
        with pytest.raises((errors.NotFound, errors.InvalidArgument)):
            client.message_retract(uid_argument, "alice")


def test_a_retraction_before_its_message_is_applied_when_it_arrives(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    carol.send_retraction("alice@localhost", "late-message")
    _, uid = carol_sends(carol, signals, "late", id="late-message")
    assert wait_update(signals, uid, "retract")["by"] == "carol@localhost"
    assert history_row(client, uid)[4] == {}


def test_changes_waiting_behind_a_retraction_leave_the_tombstone_empty(alice: Alice, carol: XmppPeer) -> None:
    """A retraction, then a reaction and a correction, all before their message: applied
    in that order when it arrives, the later two find a tombstone and change nothing."""
    client, signals = alice
    carol.send_retraction("alice@localhost", "late-message")
    carol.send_reactions("alice@localhost", "late-message", ["🐢"])
    carol.send_correction("alice@localhost", "late-message", "late, corrected")
    _, uid = carol_sends(carol, signals, "late", id="late-message")
    assert wait_update(signals, uid, "retract")["by"] == "carol@localhost"
    # our call waits for the changes being applied, then finds the tombstone
    with pytest.raises(errors.Conflict):
        client.message_reactions_set(uid, ["👍"], "add", "alice")
    row = history_row(client, uid)
    extra = json.loads(row[7])
    assert row[4] == {} and "reactions" not in extra and "edits" not in extra and extra["retracted"] > 0


def test_retract_from_the_command_line(backend: BackendProcess, alice: Alice, carol: XmppPeer) -> None:
    uid = sat(backend, "message", "send", "carol@localhost", "gone soon", "-p", "alice").stdout.strip()
    assert sat(backend, "message", "retract", uid, "-p", "alice").returncode == 0
    assert carol.wait_message(has_child(NS_RETRACT, "retract"))["retract"]["id"] == uid
    assert sat(backend, "history", "-p", "alice").stdout.splitlines()[0].endswith(": (message retracted)")
    assert sat(backend, "message", "retract", uid, "-p", "alice").returncode == 13          # Conflict


def test_retractions_are_advertised(alice: Alice, carol: XmppPeer) -> None:
    assert {NS_RETRACT, NS_FALLBACK} <= features_of(carol, alice[0])
