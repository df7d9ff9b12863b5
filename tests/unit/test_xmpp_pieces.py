"""Pure pieces of the XMPP layer: backoff, message stanzas, history filters, settings."""

from __future__ import annotations

import random

import pytest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from tx_xmpp.generic import parseXml

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.im.message_stanza import (
    ChatMessage,
    MalformedStanza,
    bounded_id,
    bounded_language,
    build_message_element,
    change_reference,
    parse_message_element,
)
from sat_backend.core.xmpp.backoff import Backoff
from sat_backend.core.xmpp.settings import is_loopback
from sat_backend.memory.history_query import HistoryQuery

ME = JID("alice@localhost/desk")


def parse(xml: str) -> ChatMessage | None:
    element = parseXml(xml.encode())
    assert isinstance(element, domish.Element)
    return parse_message_element(element, ME)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff = Backoff(initial=1, maximum=60, rng=random.Random(4))
    delays = [backoff.next_delay() for _ in range(10)]
    for attempt, delay in enumerate(delays):
        ceiling = min(60, 2**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_received_message_with_languages_delay_and_ids() -> None:
    message = parse(
        "<message xmlns='jabber:client' from='bob@localhost/phone' to='alice@localhost/desk' type='chat'>"
        "<body>hello</body><body xml:lang='fr'>salut</body><subject>s</subject>"
        "<delay xmlns='urn:xmpp:delay' stamp='2024-01-02T03:04:05Z'/>"
        "<origin-id xmlns='urn:xmpp:sid:0' id='o1'/>"
        "<stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='evil@localhost'/>"
        "<stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='alice@localhost'/>"
        "</message>"
    )
    assert message is not None
    assert message.bodies == {"": "hello", "fr": "salut"} and message.subjects == {"": "s"}
    assert message.timestamp == 1704164645.0
    assert (message.origin_id, message.stanza_id) == ("o1", "s1")
    assert message.from_jid.full() == "bob@localhost/phone"


@pytest.mark.parametrize("xml", [
    "<message xmlns='jabber:client' from='bob@localhost'><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    "<message xmlns='jabber:client' from='bob@localhost' type='error'><body>x</body></message>",
])
def test_nothing_to_keep(xml: str) -> None:
    assert parse(xml) is None


@pytest.mark.parametrize("xml", [
    "<message xmlns='jabber:client' from='bob@localhost' type='shout'><body>x</body></message>",
    "<message xmlns='jabber:client' from='@@bad' type='chat'><body>x</body></message>",
])
def test_malformed_messages_are_refused(xml: str) -> None:
    with pytest.raises(MalformedStanza):
        parse(xml)


def test_message_without_from_is_from_our_own_account() -> None:
    message = parse("<message xmlns='jabber:client' type='normal'><body>x</body></message>")
    assert message is not None and message.from_jid.full() == "alice@localhost"


def test_sent_stanza_carries_origin_id_and_languages() -> None:
    message = ChatMessage("u1", 0.0, ME, JID("bob@localhost"), {"": "hi", "fr": "salut"}, {}, "chat",
                          origin_id="u1")
    element = build_message_element(message)
    xml = element.toXml()
    assert element["id"] == "u1" and element["type"] == "chat"
    assert "<origin-id xmlns='urn:xmpp:sid:0' id='u1'/>" in xml
    assert "xml:lang='fr'" in xml and ">salut</body>" in xml


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.8.9.1", True),
    ("example.org", False), ("10.0.0.1", False), ("localhost.evil.org", False),
])
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_history_query_parses_filters() -> None:
    query = HistoryQuery.from_bridge("Bob@LocalHost/phone", "", 5, True, '{"body": "x", "types": ["chat"], "after": 1}')
    assert query.from_jid is not None and query.from_jid.bare == "bob@localhost"
    assert query.from_jid.resource == "phone" and query.types == ("chat",) and query.after == 1.0
    assert len(query.conditions()) == 4


@pytest.mark.parametrize(("limit", "filters"), [
    (-1, "{}"), (0, "[]"), (0, '{"x": 1}'), (0, '{"before": true}'), (0, '{"body": 3}'), (0, "{"),
])
def test_history_query_refuses_bad_input(limit: int, filters: str) -> None:
    with pytest.raises(InvalidArgument):
        HistoryQuery.from_bridge("", "", limit, False, filters)


def test_capabilities_hash_matches_the_xep_0115_example() -> None:
    from sat_backend.plugins.plugin_xep_0030 import DiscoInfo
    from sat_backend.plugins.plugin_xep_0115 import capabilities_hash

    info = DiscoInfo(
        (("client", "pc", "", "Exodus 0.9.1"),),
        frozenset({
            "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info",
            "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/muc",
        }),
    )
    assert capabilities_hash(info) == "QgayPKawpkPSDYmwT/WM94uAlu0="


def test_a_long_language_is_cut_by_its_last_subtags_as_rfc_4647_looks_tags_up() -> None:
    assert bounded_language("de-CH-1996") == "de-CH-1996"
    assert bounded_language("en-" + "x" * 40) == "en"
    assert bounded_language("zh-Hant-CN-" + "-".join(["abcdefgh"] * 4)) == "zh-Hant-CN-abcdefgh-abcdefgh"
    assert bounded_language("y" * 36) == ""


def test_a_change_naming_an_id_history_cannot_hold_is_malformed() -> None:
    correction = ("<message xmlns='jabber:client' from='bob@localhost/x' type='chat'><body>fixed</body>"
                  "<replace xmlns='urn:xmpp:message-correct:0' id='{}'/></message>")
    found = change_reference(parseXml(correction.format("i" * 255).encode()), "urn:xmpp:message-correct:0", "replace")
    assert found is not None and found[1] == "i" * 255
    with pytest.raises(MalformedStanza, match="longer than 255"):
        change_reference(parseXml(correction.format("i" * 256).encode()), "urn:xmpp:message-correct:0", "replace")
    assert bounded_id("i" * 256) is None and bounded_id("") is None and bounded_id("id") == "id"
