"""XEP-0030 §4 items requests, as the pubsub cache lists a node's item ids with them
(XEP-0060 §5.5): the request sent, and the answer read."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from twisted.words.protocols.jabber.jid import JID
from twisted.words.protocols.jabber.xmlstream import Authenticator, XmlStream
from twisted.words.xish import domish

from sat_backend.plugins.plugin_xep_0030 import NS_DISCO_ITEMS, DiscoItem, ServiceDiscovery, items_of


def test_the_items_request_names_the_entity_and_node() -> None:
    sent: list[domish.Element] = []
    stream = XmlStream(Authenticator())
    stream.send = sent.append  # type: ignore[method-assign]
    client: Any = SimpleNamespace(xmlstream=stream, is_connected=True, profile="alice")
    disco = ServiceDiscovery(SimpleNamespace())  # type: ignore[arg-type]
    disco.send_items_query(client, JID("pubsub.localhost"), "blog")
    iq = sent[0]
    query = next(iq.elements(NS_DISCO_ITEMS, "query"))
    assert (iq["type"], iq["to"], query["node"]) == ("get", "pubsub.localhost", "blog")
    disco.send_items_query(client, JID("localhost"))
    assert not next(sent[1].elements(NS_DISCO_ITEMS, "query")).hasAttribute("node")


def test_the_answer_is_read_item_by_item() -> None:
    answer = domish.Element((None, "iq"))
    query = answer.addElement((NS_DISCO_ITEMS, "query"))
    for attributes in ({"jid": "pubsub.localhost", "name": "i1"}, {"jid": "a@b", "node": "n"}):
        item = query.addElement((NS_DISCO_ITEMS, "item"))
        for key, value in attributes.items():
            item[key] = value
    query.addElement(("urn:other", "item"))["name"] = "not disco"
    assert items_of(answer) == [DiscoItem("pubsub.localhost", None, "i1"), DiscoItem("a@b", "n", None)]
    assert items_of(domish.Element((None, "iq"))) == []
