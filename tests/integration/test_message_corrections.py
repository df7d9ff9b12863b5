"""Corrections (XEP-0308) on a real Prosody and ejabberd, with slixmpp and its xep_0308 plugin as the
other end: history keeps every text, only the author may correct."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest
import slixmpp
from slixmpp import ClientXMPP

from sat_bridge import errors
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.message_changes_helpers import (  # noqa: F401 - fixtures
    NS_CORRECT,
    NS_RETRACT,
    Alice,
    alice,
    carol,
    carol_sends,
    features_of,
    has_child,
    history_row,
    history_uids,
    new_message,
    wait_update,
)
from tests.integration.test_cli import sat

#: tests here run on Prosody and on ejabberd, but those marked prosody_only (tests/conftest.py)
pytestmark = pytest.mark.ejabberd


def test_peer_corrections_replace_the_text_and_keep_the_old_ones(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    carol_id, uid = carol_sends(carol, signals, "helo wrld")

    carol.send_correction("alice@localhost", carol_id, "hello world")
    edit = wait_update(signals, uid, "edit")
    assert edit["message"] == {"": "hello world"} and edit["edited"] > 0
    carol.send_correction("alice@localhost", carol_id, "hello, world")   # corrections name the original
    assert wait_update(signals, uid, "edit")["message"] == {"": "hello, world"}
    row = history_row(client, uid)
    assert row[4] == {"": "hello, world"}
    extra = json.loads(row[7])
    assert [version["message"] for version in extra["edits"]] == [{"": "helo wrld"}, {"": "hello world"}]
    assert extra["edited"] == extra["edits"][-1]["replaced"]
    assert history_uids(client) == [uid]                      # corrections are changes, not messages


def test_concurrent_corrections_keep_every_text_once(alice: Alice, carol: XmppPeer) -> None:
    """Corrections of one message at the same time: each replaces the text the previous
    one left, so every text is in history exactly once (current or previous version)."""
    client, signals = alice
    uid = client.message_send("carol@localhost", {"": "text 0"}, {}, "chat", "{}", "alice")
    carol.wait_message(lambda message: message["body"] == "text 0")
    texts = [f"text {number}" for number in range(1, 9)]
    with ThreadPoolExecutor(len(texts)) as pool:
        list(pool.map(lambda text: client.message_edit(uid, {"": text}, "{}", "alice"), texts))
    row = history_row(client, uid)
    previous = [version["message"][""] for version in json.loads(row[7])["edits"]]
    assert previous[0] == "text 0"
    assert sorted([*previous, row[4][""]]) == ["text 0", *texts]


def test_we_correct_our_message(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    uid = client.message_send("carol@localhost", {"": "wrong text"}, {}, "chat", "{}", "alice")
    carol.wait_message(lambda message: message["body"] == "wrong text")

    client.message_edit(uid, {"": "right text"}, "{}", "alice")
    got = carol.wait_message(has_child(NS_CORRECT, "replace"))
    assert got["body"] == "right text" and got["replace"]["id"] == uid and got["id"] != uid
    assert wait_update(signals, uid, "edit")["message"] == {"": "right text"}
    assert history_row(client, uid)[4] == {"": "right text"}

    # someone else may not correct our message: ignored (spoofing), history unchanged
    carol.send_correction("alice@localhost", uid, "carol was here")
    carol_sends(carol, signals, "sync point")
    assert history_row(client, uid)[4] == {"": "right text"}
    assert [args[1] for name, args in signals.history if name == "MessageUpdate" and args[0] == uid] == ["edit"]

    _, theirs = carol_sends(carol, signals, "not yours")
    with pytest.raises(errors.PermissionDenied):
        client.message_edit(theirs, {"": "mine now"}, "{}", "alice")
    for bodies, extra in (({"": ""}, "{}"), ({}, "{}"), ({"": "x"}, '{"unknown": 1}'), ({"": "x"}, "[")):
        with pytest.raises(errors.InvalidArgument):
            client.message_edit(uid, bodies, extra, "alice")
    with pytest.raises(errors.NotFound):
        client.message_edit("no-such-uid", {"": "x"}, "{}", "alice")


def test_a_correction_before_its_message_is_applied_when_it_arrives(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    carol.send_correction("alice@localhost", "late-message", "corrected before arriving")
    _, uid = carol_sends(carol, signals, "late", id="late-message")
    assert wait_update(signals, uid, "edit")["message"] == {"": "corrected before arriving"}
    assert history_row(client, uid)[4] == {"": "corrected before arriving"}


def test_edit_from_the_command_line(backend: BackendProcess, alice: Alice, carol: XmppPeer) -> None:
    _, signals = alice
    uid = sat(backend, "message", "send", "carol@localhost", "typo", "-p", "alice").stdout.strip()
    assert sat(backend, "message", "edit", uid, "no", "typo", "-p", "alice").returncode == 0
    assert carol.wait_message(has_child(NS_CORRECT, "replace"))["body"] == "no typo"
    assert sat(backend, "history", "-p", "alice").stdout.splitlines()[0].endswith("→ carol@localhost: no typo (edited)")
    _, theirs = carol_sends(carol, signals, "theirs")
    assert sat(backend, "message", "edit", theirs, "mine", "-p", "alice").returncode == 14   # PermissionDenied


def test_corrections_are_advertised(alice: Alice, carol: XmppPeer) -> None:
    assert NS_CORRECT in features_of(carol, alice[0])


def test_our_other_device_corrects_its_message_by_carbons(
    alice: Alice, carol: XmppPeer, fresh_xmpp_server: XmppServer,
) -> None:
    client, signals = alice
    with connected_peer(fresh_xmpp_server, "alice", XMPP_ACCOUNTS["alice"]) as phone:
        phone_id = phone.send_message("carol@localhost", "sent from the phone")
        uid = signals.wait_for("MessageNew", new_message("sent from the phone"))[0]
        phone.send_correction("carol@localhost", phone_id, "sent from my phone")
        assert wait_update(signals, uid, "edit")["message"] == {"": "sent from my phone"}
    assert history_row(client, uid)[4] == {"": "sent from my phone"}
    # and this device may go on correcting it: the message is ours
    client.message_edit(uid, {"": "sent from my phone, really"}, "{}", "alice")
    got = carol.wait_message(lambda message: message["body"] == "sent from my phone, really")
    assert got["replace"]["id"] == phone_id       # the original id, not our uid


def test_group_chat_messages_from_outside_our_rooms_are_dropped(alice: Alice, carol: XmppPeer) -> None:
    """A ``groupchat`` message that does not come from a room we are in (XEP-0045) is
    dropped, and so is a correction or retraction it carries: in a room every occupant
    shares the room's bare JID, so the author check would accept anyone's change. Absence
    is shown by a chat correction sent after them being the next ``MessageUpdate``."""
    client, signals = alice
    client.message_send("carol@localhost", {"": "where are you?"}, {}, "chat", "{}", "alice")
    alice_full = str(carol.wait_message(lambda message: message["body"] == "where are you?")["from"])
    room_id = carol.send_message(alice_full, "said in a room", mtype="groupchat")
    chat_id, chat_uid = carol_sends(carol, signals, "said in a chat")

    carol.send_message(alice_full, "room correction", mtype="groupchat", replace={"id": room_id})
    carol.send_message(alice_full, "chat correction from a room", mtype="groupchat", replace={"id": chat_id})
    carol.send_message(alice_full, mtype="groupchat",
                       payloads=[f'<retract xmlns="{NS_RETRACT}" id="{chat_id}"/>'])
    carol.send_correction("alice@localhost", chat_id, "chat correction")

    update = signals.wait_for("MessageUpdate", lambda uid, kind, data, profile: profile == "alice")
    assert update[:2] == (chat_uid, "edit") and json.loads(update[2])["message"] == {"": "chat correction"}
    assert [args[0] for name, args in signals.history if name == "MessageUpdate"] == [chat_uid]
    assert [row[6] for row in client.history_get("carol@localhost", "", 0, True, "{}", "alice")] == ["chat", "chat"]


def test_a_burst_of_messages_and_a_correction_is_stored_and_announced_in_order(alice: Alice, carol: XmppPeer) -> None:
    """Messages that arrive together are stored together (one transaction) yet say what
    one by one would: in order, a copy (the same sender's origin-id) dropped, and a
    correction of one of them, stored just before it, applied once that one is announced."""
    client, signals = alice

    async def burst(xmpp: ClientXMPP) -> None:
        for number, origin in ((1, "o1"), (2, "o1"), (3, "o3")):
            message = xmpp.make_message(mto="alice@localhost", mbody=f"burst {number}", mtype="chat")
            message["id"] = f"b{number}"
            message.append(ET.fromstring(f"<origin-id xmlns='urn:xmpp:sid:0' id='{origin}'/>"))
            message.send()
        xmpp.plugin["xep_0308"].build_correction("b1", slixmpp.JID("alice@localhost"), mbody="burst one").send()
        xmpp.make_message(mto="alice@localhost", mbody="burst 4", mtype="chat").send()

    carol.call(burst)
    last = signals.wait_for("MessageNew", new_message("burst 4"))
    first = signals.wait_for("MessageNew", new_message("burst 1"))
    assert wait_update(signals, first[0], "edit")["message"] == {"": "burst one"}
    announced = [args[4][""] for name, args in signals.history if name == "MessageNew"]
    assert announced == ["burst 1", "burst 3", "burst 4"]
    assert [row[4][""] for row in client.history_get("", "", 0, False, "{}", "alice")] == \
        ["burst one", "burst 3", "burst 4"]
    assert history_uids(client)[-1] == last[0]
