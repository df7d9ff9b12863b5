"""Reactions (XEP-0444) on a real Prosody and ejabberd, with slixmpp and its xep_0444 plugin as the
other end: both directions, the exact XML, carbons, reactions before their message."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from slixmpp import Message

from sat_bridge import errors
from tests.conftest import XMPP_ACCOUNTS
from tests.fixtures.backend import BackendProcess
from tests.fixtures.ejabberd import XmppServer
from tests.fixtures.xmpp_peer import XmppPeer, connected_peer
from tests.integration.message_changes_helpers import (  # noqa: F401 - fixtures
    NS_HINTS,
    NS_REACTIONS,
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

is_reaction = has_child(NS_REACTIONS, "reactions")


def reactions_sent(message: Message) -> tuple[str, list[str]]:
    """(id, reactions) of a received reaction stanza, checked against XEP-0444: a
    ``<reactions id/>`` of bare ``<reaction/>`` texts, a store hint, no body."""
    element = message.xml.find(f"{{{NS_REACTIONS}}}reactions")
    assert element is not None and set(element.attrib) == {"id"}
    assert all(child.tag == f"{{{NS_REACTIONS}}}reaction" and not child.attrib for child in element)
    assert message.xml.find(f"{{{NS_HINTS}}}store") is not None
    assert message.xml.find("{jabber:client}body") is None
    return element.get("id", ""), [child.text or "" for child in element]


def test_reactions_both_ways(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    carol_id, uid = carol_sends(carol, signals, "react to this")

    client.message_reactions_set(uid, ["👍"], "add", "alice")
    assert wait_update(signals, uid, "reactions") == {"reactions": {"👍": ["alice@localhost"]}}
    got = carol.wait_message(is_reaction)
    assert reactions_sent(got) == (carol_id, ["👍"])          # her id: she gave no origin-id
    assert got["type"] == "chat" and got["reactions"]["values"] == {"👍"}

    # toggle flips each emoji; twice is back to the start; every stanza has the whole set
    client.message_reactions_set(uid, ["👍", "🎉"], "toggle", "alice")
    assert wait_update(signals, uid, "reactions") == {"reactions": {"🎉": ["alice@localhost"]}}
    assert reactions_sent(carol.wait_message(is_reaction))[1] == ["🎉"]
    client.message_reactions_set(uid, ["👍", "🎉"], "toggle", "alice")
    assert wait_update(signals, uid, "reactions") == {"reactions": {"👍": ["alice@localhost"]}}
    assert reactions_sent(carol.wait_message(is_reaction))[1] == ["👍"]

    carol.send_reactions("alice@localhost", carol_id, ["❤️", "👍"])
    both = {"❤️": ["carol@localhost"], "👍": ["alice@localhost", "carol@localhost"]}
    assert wait_update(signals, uid, "reactions") == {"reactions": both}
    assert json.loads(history_row(client, uid)[7])["reactions"] == both

    client.message_reactions_set(uid, ["👋", "🇫🇷"], "replace", "alice")
    assert reactions_sent(carol.wait_message(is_reaction))[1] == ["👋", "🇫🇷"]
    assert wait_update(signals, uid, "reactions")["reactions"]["🇫🇷"] == ["alice@localhost"]
    client.message_reactions_set(uid, ["👋"], "remove", "alice")
    assert reactions_sent(carol.wait_message(is_reaction))[1] == ["🇫🇷"]
    assert "👋" not in wait_update(signals, uid, "reactions")["reactions"]
    client.message_reactions_set(uid, [], "replace", "alice")
    assert reactions_sent(carol.wait_message(is_reaction))[1] == []
    assert wait_update(signals, uid, "reactions") == {"reactions": {"❤️": ["carol@localhost"],
                                                                    "👍": ["carol@localhost"]}}
    carol.send_reactions("alice@localhost", carol_id, [])
    assert wait_update(signals, uid, "reactions") == {"reactions": {}}
    assert "reactions" not in json.loads(history_row(client, uid)[7])
    assert history_uids(client) == [uid]                      # reactions are changes, not messages


def test_concurrent_reaction_calls_lose_none(alice: Alice, carol: XmppPeer) -> None:
    """Calls for the same message at the same time each see the set the previous one
    left: none of the adds is lost, and the last stanza carries the whole set."""
    client, signals = alice
    carol_id, uid = carol_sends(carol, signals, "react to this all at once")
    emojis = ["👍", "🎉", "❤️", "😂", "👋", "🔥", "✅", "🙏"]
    with ThreadPoolExecutor(len(emojis)) as pool:
        list(pool.map(lambda emoji: client.message_reactions_set(uid, [emoji], "add", "alice"), emojis))
    assert json.loads(history_row(client, uid)[7])["reactions"] == {emoji: ["alice@localhost"] for emoji in emojis}
    sent = [reactions_sent(carol.wait_message(is_reaction)) for _ in emojis]
    assert [len(reactions) for _, reactions in sent] == list(range(1, len(emojis) + 1))
    assert sent[-1] == (carol_id, sent[-1][1]) and set(sent[-1][1]) == set(emojis)


def test_reaction_arguments_are_checked(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    carol_id, uid = carol_sends(carol, signals, "check me")
    for reactions, update_type in ((["a"], "add"), (["👍👍"], "add"), ([""], "add"), (["🇫🇷🇩🇪"], "toggle"),
                                   (["👍"], "bogus"), ([], "add")):
        with pytest.raises(errors.InvalidArgument):
            client.message_reactions_set(uid, reactions, update_type, "alice")
    with pytest.raises(errors.NotFound):
        client.message_reactions_set("no-such-uid", ["👍"], "add", "alice")
    # a peer's reaction that is not a single emoji is left out of its set
    carol.send_message("alice@localhost", payloads=[
        f"<reactions xmlns='{NS_REACTIONS}' id='{carol_id}'><reaction>a</reaction>"
        "<reaction>👍👍</reaction><reaction>👍</reaction></reactions>"])
    assert wait_update(signals, uid, "reactions") == {"reactions": {"👍": ["carol@localhost"]}}
    # a reaction without the id of its message is dropped, the session goes on
    carol.send_message("alice@localhost", payloads=[f"<reactions xmlns='{NS_REACTIONS}'><reaction>👍</reaction></reactions>"])
    carol_sends(carol, signals, "after")
    assert client.is_connected("alice") is True


def test_a_reaction_before_its_message_is_applied_when_it_arrives(alice: Alice, carol: XmppPeer) -> None:
    client, signals = alice
    carol.send_reactions("alice@localhost", "late-message", ["🐢"])
    _, uid = carol_sends(carol, signals, "late", id="late-message")
    assert wait_update(signals, uid, "reactions") == {"reactions": {"🐢": ["carol@localhost"]}}
    assert json.loads(history_row(client, uid)[7])["reactions"] == {"🐢": ["carol@localhost"]}


def test_a_reaction_waits_for_its_message_from_the_archive(
    alice: Alice, carol: XmppPeer, fresh_xmpp_server: XmppServer,
) -> None:
    client, signals = alice
    client.disconnect("alice")
    # archived in this order while we are offline: the reaction, then the message it names
    # (the archive position follows live messages, so a message archived while we are
    # online always reaches us live or by carbons, never only from the archive)
    carol.send_reactions("alice@localhost", "planned-id", ["👀"])
    carol.send_message("alice@localhost", "only in the archive", id="planned-id")
    carol.call(lambda xmpp: xmpp.plugin["xep_0199"].ping(jid="localhost", timeout=10))
    assert "only in the archive" not in [row[4].get("") for row in client.history_get("", "", 0, False, "{}", "alice")]

    client.connect("alice")                                   # archive catch-up
    uid = signals.wait_for("MessageNew", new_message("only in the archive"))[0]
    assert wait_update(signals, uid, "reactions") == {"reactions": {"👀": ["carol@localhost"]}}
    assert json.loads(history_row(client, uid)[7])["reactions"] == {"👀": ["carol@localhost"]}


def test_reactions_of_our_other_device_by_carbons(
    alice: Alice, carol: XmppPeer, fresh_xmpp_server: XmppServer,
) -> None:
    client, signals = alice
    with connected_peer(fresh_xmpp_server, "alice", XMPP_ACCOUNTS["alice"]) as phone:
        carol_id, uid = carol_sends(carol, signals, "seen on two devices")
        phone.wait_message(lambda message: message["body"] == "seen on two devices")
        phone.send_reactions("carol@localhost", carol_id, ["🚀"])
        assert wait_update(signals, uid, "reactions") == {"reactions": {"🚀": ["alice@localhost"]}}
        carol.wait_message(is_reaction)
        # our set is the one the phone sent: adding from here keeps it
        client.message_reactions_set(uid, ["👍"], "add", "alice")
        assert wait_update(signals, uid, "reactions") == {"reactions": {"👍": ["alice@localhost"],
                                                                        "🚀": ["alice@localhost"]}}
        assert reactions_sent(carol.wait_message(is_reaction))[1] == ["🚀", "👍"]


def test_react_from_the_command_line(backend: BackendProcess, alice: Alice, carol: XmppPeer) -> None:
    _, signals = alice
    _, uid = carol_sends(carol, signals, "cli target")
    assert sat(backend, "message", "react", uid, "👍", "🎉", "-p", "alice").returncode == 0   # toggle
    assert reactions_sent(carol.wait_message(is_reaction))[1] == ["👍", "🎉"]
    refused = sat(backend, "message", "react", uid, "ok", "--mode", "add", "-p", "alice")
    assert refused.returncode == 10 and "single emoji" in refused.stderr
    lines = sat(backend, "history", "-p", "alice").stdout.splitlines()
    assert lines[0].endswith("→ alice@localhost: cli target") and lines[1] == "    🎉 alice@localhost  👍 alice@localhost"


def test_reactions_are_advertised(alice: Alice, carol: XmppPeer) -> None:
    assert NS_REACTIONS in features_of(carol, alice[0])
