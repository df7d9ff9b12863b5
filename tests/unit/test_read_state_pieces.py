"""XEP-0333 displayed markers as changes of the message they name, and the bare JID a
conversation is named by (no bus, no database)."""

from __future__ import annotations

import pytest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.im.message_stanza import MalformedStanza, MessageChange, parse_message_element
from sat_backend.plugins.plugin_xep_0333 import NS_MARKERS, ReadState, conversation_jid, parse_displayed


def message_with(name: str, **attributes: str) -> domish.Element:
    element = domish.Element(("jabber:client", "message"))
    child = element.addElement((NS_MARKERS, name))
    for key, value in attributes.items():
        child[key] = value
    return element


def test_displayed_marker_is_a_change_of_its_message() -> None:
    assert parse_displayed(message_with("displayed", id="abc")) == MessageChange("displayed", "abc", {})
    assert parse_displayed(message_with("received", id="abc")) is None   # only "displayed" means read
    assert parse_displayed(domish.Element(("jabber:client", "message"))) is None
    with pytest.raises(MalformedStanza):
        parse_displayed(message_with("displayed"))


def test_conversation_jid() -> None:
    assert conversation_jid("Carol@LocalHost") == "carol@localhost"
    assert conversation_jid("pubsub.localhost") == "pubsub.localhost"
    for bad in ("carol@localhost/phone", "", "@localhost", "a" * 4000):
        with pytest.raises(InvalidArgument):
            conversation_jid(bad)


class _Bridge:
    def __init__(self) -> None:
        self.emitted: list[tuple[object, ...]] = []

    def emit(self, name: str, *args: object) -> None:
        self.emitted.append((name, *args))


class _Host:
    def __init__(self) -> None:
        self.bridge = _Bridge()
        self.storage = None


def test_unread_changed_only_when_the_count_changes() -> None:
    """The contract: ``UnreadChanged`` says a count changed; the same count again is
    not announced, and a read point moving in a conversation announced at 0 (each
    message we send moves one) needs neither a count nor a signal."""
    host = _Host()
    state = ReadState(host)  # type: ignore[arg-type]
    scheduled: list[tuple[str, str]] = []
    state._changed = lambda profile, peer: scheduled.append((profile, peer))  # type: ignore[method-assign]
    state._announce("alice", "bob@x", 2)
    state._announce("alice", "bob@x", 2)
    state._announce("alice", "bob@x", 0)
    state._announce("alice", "carol@x", 0)   # first count of a conversation: announced
    assert host.bridge.emitted == [("UnreadChanged", "bob@x", 2, "alice"), ("UnreadChanged", "bob@x", 0, "alice"),
                                   ("UnreadChanged", "carol@x", 0, "alice")]
    state._read_point_moved("alice", "bob@x")     # announced at 0: stays 0
    state._read_point_moved("alice", "dave@x")    # never announced: counted
    state._announce("alice", "carol@x", 3)
    state._read_point_moved("alice", "carol@x")   # 3 unread: may go down
    assert scheduled == [("alice", "dave@x"), ("alice", "carol@x")]


def test_a_markable_message_with_an_id_is_kept_markable() -> None:
    own = JID("alice@localhost/pc")

    def parsed(stanza_id: str | None, markable: bool) -> dict[str, object]:
        element = message_with("markable") if markable else domish.Element(("jabber:client", "message"))
        element["from"], element["type"] = "carol@localhost/phone", "chat"
        if stanza_id is not None:
            element["id"] = stanza_id
        element.addElement("body", content="hi")
        message = parse_message_element(element, own)
        assert message is not None
        return message.extra

    assert parsed("m1", True) == {"markable": True}
    assert parsed(None, True) == {}     # a marker copies the id: without one, nothing to mark
    assert parsed("m1", False) == {}
