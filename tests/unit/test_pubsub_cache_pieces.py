"""Pure pieces of the pubsub cache's no-op decision: what counts as the same item
(canonical children, whatever the wrapper), and what is left of a notification once
its change is applied (only what changed; nothing left: no ``PsEvent``)."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.received_item import ReceivedItem, stored_item
from sat_backend.core.xml_payloads import item_payload
from sat_backend.memory.pubsub_cache_storage import ChangeOutcome, NodeChange
from sat_backend.plugins.pubsub_cache.ingest import event_outcome
from sat_backend.plugins.plugin_xep_0060 import EncodedItems, EventOutcome, ItemsResult, PubsubEvent

EVENT = "http://jabber.org/protocol/pubsub#event"
PUBSUB = "http://jabber.org/protocol/pubsub"
ATOM = "http://www.w3.org/2005/Atom"


def test_same_payload_whatever_the_wrapper_attribute_order_and_layout() -> None:
    synced = f"<item xmlns='{PUBSUB}' id='a'><entry xmlns='{ATOM}'><title type='text' xml:lang='en'>T</title></entry></item>"
    notified = (f'<item xmlns="{EVENT}" id="a" publisher="x@y">\n  <entry xmlns="{ATOM}">'
                f'<title xml:lang="en" type="text">T</title></entry>\n</item>')
    assert item_payload(synced) == item_payload(notified) is not None


@pytest.mark.parametrize("other", [
    f"<item id='a'><entry xmlns='{ATOM}'><title>U</title></entry></item>",  # text of a child
    f"<item id='a'><entry xmlns='{ATOM}'><title lang='fr'>T</title></entry></item>",  # an attribute
    f"<item id='a'><entry xmlns='urn:other'><title>T</title></entry></item>",  # a namespace
    f"<item id='a'><entry xmlns='{ATOM}'><title>T</title></entry><x/></item>",  # one more child
    f"<item id='a'>words<entry xmlns='{ATOM}'><title>T</title></entry></item>",  # text of the item
    f"<item id='a'><entry xmlns='{ATOM}'><title>T</title></entry>tail</item>",  # text after a child
])
def test_a_different_payload_differs(other: str) -> None:
    assert item_payload(f"<item id='a'><entry xmlns='{ATOM}'><title>T</title></entry></item>") != item_payload(other)


def test_text_is_not_taken_for_markup() -> None:
    assert item_payload("<item>&lt;x/&gt;</item>") != item_payload("<item><x/></item>")


def test_unusable_xml_has_no_payload() -> None:
    assert item_payload("<item id='a'>unclosed") is None
    assert item_payload("<!DOCTYPE item><item/>") is None


def event(kind: str, items: tuple[str | None, ...] = (), retracted: tuple[str, ...] = ()) -> PubsubEvent:
    elements = []
    for name in items:
        element = domish.Element((EVENT, "item"))
        if name is not None:
            element["id"] = name
        elements.append(element)
    return PubsubEvent(cast(Any, None), JID("pubsub.localhost"), "node", kind, items=elements,
                       retracted=list(retracted))


def outcome_of(notification: PubsubEvent, outcome: ChangeOutcome) -> EventOutcome:
    received = tuple(ReceivedItem.from_element(element) for element in notification.items)
    return event_outcome(notification, "blog", received, outcome)


def ids(outcome: EventOutcome) -> list[str]:
    return [item.id for item in outcome.items or ()]


def test_only_changed_items_are_left_items_without_id_kept() -> None:
    mixed = outcome_of(event("items", ("same", None, "new", "same")),  # flags for the items with an id only
                       ChangeOutcome(changed=[False, True, False]))
    assert (ids(mixed), mixed.no_op, mixed.category) == (["", "new"], False, "blog")


def test_nothing_changed_is_a_no_op() -> None:
    again = outcome_of(event("items", ("a", "b")), ChangeOutcome(changed=[False, False]))
    assert (ids(again), again.no_op) == ([], True)
    retract = outcome_of(event("retract", retracted=("unknown", "known")), ChangeOutcome(changed=[False, True]))
    assert (retract.retracted, retract.no_op) == (("known",), False)
    unknown = outcome_of(event("retract", retracted=("unknown",)), ChangeOutcome(changed=[False]))
    assert unknown.no_op is True


def test_a_change_whose_effect_is_unknown_is_signalled_whole() -> None:
    """A change that failed (its node is synchronised again): all of it is signalled."""
    items = outcome_of(event("items", ("a", "b")),
                       ChangeOutcome.applied(NodeChange(1, "items", items=(stored_item("a", ""), stored_item("b", "")))))
    assert (ids(items), items.no_op) == (["a", "b"], False)
    purge = outcome_of(event("purge"), ChangeOutcome())
    assert purge.no_op is False


def test_a_lowered_max_items_adds_the_dropped_items() -> None:
    config = outcome_of(event("config"), ChangeOutcome(dropped=["old"]))
    assert (config.retracted, config.no_op) == (("old",), False)


def test_the_notification_itself_is_left_as_it_came() -> None:
    """Several readers share a notification: the cache says what to signal, it does not edit it."""
    notification = event("items", ("a", "b"))
    outcome_of(notification, ChangeOutcome(changed=[False, False]))
    assert ids_of(notification) == ["a", "b"]
    with pytest.raises(AttributeError):
        notification.items = []  # type: ignore[misc]


def ids_of(notification: PubsubEvent) -> list[str | None]:
    return [element.getAttribute("id") for element in notification.items]


def test_items_encoded_by_the_database_answer_as_a_list_does() -> None:
    """``PsItemsGet``'s JSON with the items as one JSON array encoded by the database is
    the JSON of the same items as a list; read as items, they are that list."""
    items = ['<item id="a">"q" \\ é\n</item>', "<item id='b'/>"]
    encoded = EncodedItems(json.dumps(items, ensure_ascii=False), len(items))
    listed, spliced = (ItemsResult(value, "pubsub.example", "n", {"index": 0, "count": 2}, cached=True)
                       for value in (items, encoded))
    assert spliced.to_json() != listed.to_json()  # not decoded and encoded again
    assert json.loads(spliced.to_json()) == json.loads(listed.to_json())
    assert len(encoded) == 2 and encoded[1] == items[1] and list(encoded) == items == encoded
