"""XEP-0333 displayed markers as changes of the message they name, and the bare JID a
conversation is named by (no bus, no database)."""

from __future__ import annotations

import pytest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.im.message_stanza import MalformedStanza, MessageChange, parse_message_element
from sat_backend.plugins.plugin_xep_0333 import NS_MARKERS, conversation_jid, parse_displayed


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
