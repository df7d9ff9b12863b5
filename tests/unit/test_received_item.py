"""An item read once at the edge: its digest says "same payload" exactly when the
canonical comparison did, whatever the wrapper; unreadable items keep their raw form."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from twisted.words.xish import domish

from sat_backend.core.received_item import ReceivedItem, digest_of, raw_digest, stored_item
from sat_backend.core.xml_payloads import MAX_PAYLOAD_BYTES, item_payload, parse_untrusted, to_domish
from sat_backend.memory.pubsub_fts import search_text

EVENT = "http://jabber.org/protocol/pubsub#event"
PUBSUB = "http://jabber.org/protocol/pubsub"
ATOM = "http://www.w3.org/2005/Atom"
SYNCED = f"<item xmlns='{PUBSUB}' id='a'><entry xmlns='{ATOM}'><title type='text' xml:lang='en'>Hé T</title></entry></item>"
NOTIFIED = (f'<item xmlns="{EVENT}" id="a" publisher="x@y">\n  <entry xmlns="{ATOM}">'
            f'<title xml:lang="en" type="text">Hé T</title></entry>\n</item>')


def test_everything_is_read_from_one_parse() -> None:
    item = ReceivedItem.from_xml(NOTIFIED)
    assert (item.id, item.xml, item.publisher) == ("a", NOTIFIED, "x@y")
    assert item.payload is not None and item.payload.get("id") == "a"
    assert item.canonical == item_payload(NOTIFIED)
    assert item.digest == hashlib.sha256(item_payload(NOTIFIED) or b"").hexdigest()
    assert item.search_text == search_text(NOTIFIED) == "he t"
    assert item.parsed is None


def test_the_same_payload_has_the_same_digest_whatever_the_wrapper() -> None:
    synced, notified = ReceivedItem.from_xml(SYNCED), ReceivedItem.from_xml(NOTIFIED)
    assert synced.digest == notified.digest == digest_of(SYNCED)
    assert synced.publisher is None


@pytest.mark.parametrize("other", [
    f"<item id='a'><entry xmlns='{ATOM}'><title>U</title></entry></item>",
    f"<item id='a'><entry xmlns='urn:other'><title type='text' xml:lang='en'>Hé T</title></entry></item>",
    f"<item id='a'>words<entry xmlns='{ATOM}'><title type='text' xml:lang='en'>Hé T</title></entry></item>",
    "<item id='a'>&lt;x/&gt;</item>",
])
def test_a_different_payload_has_another_digest(other: str) -> None:
    assert ReceivedItem.from_xml(other).digest != ReceivedItem.from_xml(SYNCED).digest


def test_an_element_from_a_notification_is_serialised_once_and_read() -> None:
    element = to_domish(parse_untrusted(NOTIFIED.encode()))
    item = ReceivedItem.from_element(element)
    assert item.id == "a" and item.digest == digest_of(SYNCED)
    assert item.xml == element.toXml()


def test_the_parser_gets_the_item_as_domish_and_its_failure_keeps_the_item_raw() -> None:
    seen: list[domish.Element] = []

    def parser(element: domish.Element) -> dict[str, Any]:
        seen.append(element)
        return {"title": str(next(next(element.elements()).elements()))}

    assert ReceivedItem.from_xml(SYNCED, parser, "blog").parsed == {"title": "Hé T"}
    assert seen[0].name == "item"

    def broken(element: domish.Element) -> dict[str, Any]:
        raise ValueError("no")

    kept = ReceivedItem.from_xml(SYNCED, broken, "broken")
    assert kept.parsed is None and kept.digest == digest_of(SYNCED)


@pytest.mark.parametrize("xml, item_id", [
    ("<item id='raw'>unclosed", "raw"),
    ("<!DOCTYPE item><item id='d'/>", ""),  # the start tag read is the DOCTYPE's: no id
    (f"<item id='huge'>{'z' * MAX_PAYLOAD_BYTES}</item>", "huge"),
])
def test_an_unreadable_item_is_kept_raw_under_its_id(xml: str, item_id: str) -> None:
    parser_calls: list[object] = []
    item = ReceivedItem.from_xml(xml, lambda element: parser_calls.append(element) or {})
    assert (item.id, item.xml, item.payload, item.canonical, item.parsed) == (item_id, xml, None, None, None)
    assert item.digest == raw_digest(xml) == digest_of(xml)
    assert parser_calls == []


def test_a_raw_digest_never_equals_a_readable_one() -> None:
    """A readable item's digest is of its canonical children, an unreadable one's of its
    prefixed bytes: text that happens to equal the other's bytes is not the same item."""
    readable = ReceivedItem.from_xml("<item id='a'>x</item>")
    assert readable.canonical == b"x"
    assert raw_digest("x") != readable.digest
    assert ReceivedItem.from_xml("<item id='a'>unclosed").digest != ReceivedItem.from_xml("<item id='a'>unclosed!").digest


def test_a_known_id_wins_and_the_item_is_frozen() -> None:
    item = stored_item("given", SYNCED)
    assert item.id == "given"
    with pytest.raises(AttributeError):
        item.digest = ""  # type: ignore[misc]
