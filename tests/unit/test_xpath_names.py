"""XPath observers of our stream check the names a query starts with before Twisted's
evaluation (issue 14): the same matches, fewer calls per received stanza."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.words.protocols.jabber import xmlstream
from twisted.words.xish import domish, xpath

from sat_backend.core.xmpp.stream import NamedXPathQuery, XmlStream, named_query

QUERIES = [
    "/message",
    "/message[@type='chat']",
    "/message/x[@xmlns='jabber:x:conference']",
    "/message/x[@xmlns='http://jabber.org/protocol/muc#user']",
    "/message/sent[@xmlns='urn:xmpp:carbons:2']",
    "/message/*",
    "/presence/x/item",
    "/iq[@type='get']/query[@xmlns='http://jabber.org/protocol/disco#info']",
    "/*",
    "//body",
    "//event",
]


def _stanzas() -> list[domish.Element]:
    chat = domish.Element((None, "message"), attribs={"type": "chat"})
    chat.addElement("body", content="hello")
    chat.addElement(("urn:xmpp:sid:0", "origin-id"))
    invite = domish.Element((None, "message"))
    invite.addElement(("jabber:x:conference", "x"))
    other_x = domish.Element((None, "message"))
    other_x.addElement(("jabber:x:oob", "x"))
    carbon = domish.Element((None, "message"))
    carbon.addElement(("urn:xmpp:carbons:2", "sent")).addElement("forwarded").addElement("message").addElement("body")
    presence = domish.Element((None, "presence"))
    presence.addElement(("http://jabber.org/protocol/muc#user", "x")).addElement("item")
    disco = domish.Element((None, "iq"), attribs={"type": "get"})
    disco.addElement(("http://jabber.org/protocol/disco#info", "query"))
    empty = domish.Element((None, "message"))
    empty.addContent("text only")
    return [chat, invite, other_x, carbon, presence, disco, empty]


@pytest.mark.parametrize("query", QUERIES)
def test_same_matches_as_twisted(query: str) -> None:
    for stanza in _stanzas():
        assert bool(NamedXPathQuery(query).matches(stanza)) == bool(xpath.XPathQuery(query).matches(stanza)), \
            (query, stanza.toXml())


def test_another_root_or_a_missing_child_is_not_evaluated() -> None:
    def evaluated(_elem: Any) -> int:
        raise AssertionError("Twisted's evaluation ran")

    message, iq = _stanzas()[0], _stanzas()[5]
    for text in ("/iq[@type='get']/query[@xmlns='x']", "/message/x[@xmlns='jabber:x:conference']"):
        query = NamedXPathQuery(text)
        query.baseLocation.matches = evaluated
        assert not query.matches(message)
    assert NamedXPathQuery("/message").matches(message) and not NamedXPathQuery("/message").matches(iq)


def test_stream_observers_by_string_are_named_queries_and_removable() -> None:
    stream = XmlStream(xmlstream.Authenticator())
    seen: list[str] = []

    def on_message(element: domish.Element) -> None:
        seen.append("message")

    stream.addObserver("/message/x[@xmlns='jabber:x:conference']", on_message)
    stream.addObserver("/iq[@type='get']", lambda _: seen.append("iq"))
    ((query, _),) = [(q, c) for q, c in stream._xpathObservers[0].items() if q.queryStr.startswith("/message")]
    assert query is named_query("/message/x[@xmlns='jabber:x:conference']")
    for stanza in _stanzas():
        stream.dispatch(stanza)
    assert seen == ["message", "iq"]
    stream.removeObserver("/message/x[@xmlns='jabber:x:conference']", on_message)
    stream.dispatch(_stanzas()[1])
    assert seen == ["message", "iq"]


def _observed_calls(stream: Any) -> list[tuple[str, str]]:
    """Dispatch every test stanza (twice) to ``stream`` holding the same observers as
    a real session has kinds of (priorities, one-time ones, one added and one removed
    while a stanza is dispatched): which observer saw which stanza, in order."""
    calls: list[tuple[str, str]] = []

    def observer(label: str) -> Any:
        return lambda element: calls.append((label, element.name))

    late = observer("added during a dispatch")

    def add_and_remove(element: domish.Element) -> None:
        calls.append(("adds and removes", element.name))
        stream.addObserver("/presence", late)
        stream.removeObserver("/message[@type='chat']", chat)

    chat = observer("/message[@type='chat']")
    for priority, query in enumerate(QUERIES):
        stream.addObserver(query, observer(query), priority % 3)
    stream.addObserver("/message[@type='chat']", chat, 1)
    stream.addOnetimeObserver("/message", observer("one-time /message"), 5)
    stream.addOnetimeObserver("/iq", observer("one-time /iq"))
    stream.addObserver("/message/sent[@xmlns='urn:xmpp:carbons:2']", add_and_remove, -1)
    for stanza in _stanzas() * 2:
        calls.append(("dispatch found", str(stream.dispatch(stanza))))
    return calls


def test_dispatch_by_name_calls_the_observers_twisted_calls_in_its_order() -> None:
    assert _observed_calls(XmlStream(xmlstream.Authenticator())) == \
        _observed_calls(xmlstream.XmlStream(xmlstream.Authenticator()))


def test_a_stanza_is_offered_only_to_the_queries_naming_its_element(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = XmlStream(xmlstream.Authenticator())
    for query in QUERIES:
        stream.addObserver(query, lambda _: None)
    offered: list[str] = []
    monkeypatch.setattr(NamedXPathQuery, "matches", lambda query, elem: offered.append(query.queryStr))
    stream.dispatch(_stanzas()[0])
    assert sorted(offered) == sorted(query for query in QUERIES if not query.startswith(("/presence", "/iq")))


def test_elements_of_ever_new_names_do_not_grow_the_dispatch_table() -> None:
    stream = XmlStream(xmlstream.Authenticator())
    for query in QUERIES:
        stream.addObserver(query, lambda _: None)
    for index in range(200):   # a hostile server's top-level elements, each of a new name
        stream.dispatch(domish.Element((None, f"unknown{index}")))
    assert stream._by_name is not None and len(stream._by_name) <= len(QUERIES) + 1
