"""Every walker and converter of XML, at and beyond :data:`MAX_XML_DEPTH`: the domish
serialiser (iterative, same output as Twisted's), lxml ↔ domish, the parsers (Atom,
XHTML sanitiser), search text, payload comparison, the cache's ingest."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core import domish_serializer
from sat_backend.core.domish_serializer import IterativeSerializer, element_xml
from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.received_item import ReceivedItem
from sat_backend.core.xml_payloads import (
    MAX_XML_DEPTH, check_xml, deeper_than, item_payload, parse_untrusted, to_domish,
)
from sat_backend.memory.pubsub_cache_storage import ChangeOutcome, NodeChange
from sat_backend.memory.pubsub_fts import search_text
from sat_backend.memory.pubsub_cache_values import CachedNode, SyncState
from sat_backend.plugins.microblog.atom import parse_entry
from sat_backend.plugins.microblog.xhtml import NS_XHTML, sanitise
from sat_backend.plugins.pubsub_cache.analysers import Analysers
from sat_backend.plugins.pubsub_cache.ingest import Ingest
from sat_backend.plugins.plugin_xep_0060 import PubsubEvent
from sat_backend.plugins.plugin_xep_0277 import parse_item

ATOM = "http://www.w3.org/2005/Atom"
PUBSUB = "http://jabber.org/protocol/pubsub"
#: what the fault campaign sent: far beyond Python's recursion limit (1,000)
DEEP = 3_000


def nested(levels: int, inner: str = "x") -> str:
    """``levels`` elements, the root counted."""
    return "<a>" * levels + inner + "</a>" * levels


def stream_parsed(xml: str) -> domish.Element:
    """An element as the XMPP stream builds it (expat, iteratively)."""
    elements: list[domish.Element] = []
    stream = domish.elementStream()
    stream.DocumentStartEvent = lambda root: None
    stream.ElementEvent = elements.append
    stream.DocumentEndEvent = lambda: None
    stream.parse(f"<stream xmlns='jabber:client'>{xml}".encode())
    return elements[0]


def deep_lxml(levels: int, tag: str = "a") -> etree._Element:
    """An lxml tree ``levels`` deep, built (not parsed: the parser would refuse it)."""
    root = current = etree.Element(tag)
    for _ in range(levels - 1):
        current = etree.SubElement(current, tag)
    current.text = "bottom"
    return root


@pytest.fixture
def twisted_serializer() -> Iterator[None]:
    """Twisted's own serialiser, whatever an earlier test installed."""
    saved = domish.SerializerClass
    domish.SerializerClass = domish._ListSerializer
    yield
    domish.SerializerClass = saved


# the serialiser ----------------------------------------------------------------------------------

SAMPLES = [
    "<iq xmlns='jabber:client' type='result' id='1'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
    "<items node='n'><item id='a'><entry xmlns='http://www.w3.org/2005/Atom'><title type='text'>T &amp; &lt;"
    "</title><content>x<b/>y</content></entry></item><item id='b'/></items></pubsub></iq>",
    "<message xmlns='jabber:client'><x:y xmlns:x='urn:x' x:attr='q&quot;&apos;'><x:z/><plain/>text</x:y>"
    "<body xml:lang='fr'>salut</body></message>",
    "<presence xmlns='jabber:client'><a xmlns='urn:a'><b xmlns='urn:b'><c/></b><d/></a><e/></presence>",
]


@pytest.mark.parametrize("xml", SAMPLES)
def test_the_iterative_serialiser_writes_what_twisted_writes(xml: str, twisted_serializer: None) -> None:
    element = stream_parsed(xml)
    assert element_xml(element) == element.toXml()
    built = domish.Element(("urn:built", "root"), localPrefixes={"p": "urn:p"})
    built.addElement(("urn:p", "child"))["attr"] = "v"
    built.addElement(("urn:other", "other")).addContent("t<>")
    built.addRawXml("<raw/>")
    built[("urn:q", "qualified")] = "1"
    assert element_xml(built) == built.toXml()
    for prefixes, options in ((None, {"closeElement": 0}), ({"urn:built": "bp"}, {}),
                              (None, {"defaultUri": "urn:built"})):
        ours, theirs = IterativeSerializer(prefixes=prefixes), domish._ListSerializer(prefixes=prefixes)
        ours.serialize(built, **options)
        theirs.serialize(built, **options)
        assert ours.getValue() == theirs.getValue(), (prefixes, options)


_URIS = st.sampled_from([None, "", "urn:a", "urn:b", "http://www.w3.org/XML/1998/namespace"])
_TEXT = st.text(alphabet=st.sampled_from(["a", "é", "<", ">", "&", "'", '"', " "]), max_size=6)


@st.composite
def _trees(draw: st.DrawFn, depth: int = 0) -> domish.Element:
    """A ``domish`` element as code builds them: namespaces given or inherited, declared
    prefixes, attributes with and without a namespace, text, raw XML, children."""
    uri = draw(_URIS)
    element = domish.Element(
        (uri, draw(st.sampled_from(["item", "entry", "x"]))),
        defaultUri=draw(st.one_of(st.none(), st.just(uri), _URIS)),
        localPrefixes=draw(st.sampled_from([None, {"p": "urn:a"}, {"q": "urn:q"}])),
    )
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(["id", "node", ("urn:b", "attr"), ("http://www.w3.org/XML/1998/namespace", "lang")]))
        element[key] = draw(_TEXT)
    for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
        kind = draw(st.sampled_from(["element", "text", "raw"]))
        if kind == "element":
            element.addChild(draw(_trees(depth + 1)))
        elif kind == "text":
            element.addContent(draw(_TEXT))
        else:
            element.addRawXml("<raw a='1'/>")
    return element


@settings(max_examples=400, deadline=None)
@given(_trees(), st.sampled_from([None, {"urn:b": "bp"}]), st.sampled_from(["", "urn:a", "jabber:client"]))
def test_the_iterative_serialiser_writes_what_twisted_writes_of_any_tree(
    tree: domish.Element, prefixes: dict[str, str] | None, default: str
) -> None:
    ours, theirs = IterativeSerializer(prefixes=prefixes), domish._ListSerializer(prefixes=prefixes)
    ours.serialize(tree, defaultUri=default)
    theirs.serialize(tree, defaultUri=default)
    assert ours.getValue() == theirs.getValue()


def test_a_deep_element_from_the_stream_is_serialised_whatever_its_depth(twisted_serializer: None) -> None:
    xml = f"<item xmlns='jabber:client' id='deep'>{nested(DEEP)}</item>"
    element = stream_parsed(xml)  # the stream builds it fine
    with pytest.raises(RecursionError):
        element.toXml()  # Twisted's own serialiser: what broke every reader of the node
    assert element_xml(element) == f"<item xmlns='jabber:client' id='deep'>{nested(DEEP)}</item>"
    domish_serializer.install()
    assert element.toXml() == element_xml(element)  # every toXml of the process, once installed


# domish and lxml ------------------------------------------------------------------------------------

def test_deeper_than_counts_levels_with_the_root() -> None:
    assert not deeper_than(stream_parsed(nested(MAX_XML_DEPTH)))
    assert deeper_than(stream_parsed(nested(MAX_XML_DEPTH + 1)))
    assert deeper_than(stream_parsed(nested(DEEP)))
    wide = stream_parsed("<a>" + "<b><c/></b>" * 500 + "</a>")
    assert not deeper_than(wide, 3) and deeper_than(wide, 2)


def test_lxml_to_domish_is_iterative_and_keeps_text_order() -> None:
    mixed = parse_untrusted(b"<r xmlns='urn:r' a='1'>t0<x>in</x>t1<!--c-->t2<y xmlns='urn:y'/>t3</r>")
    assert element_xml(to_domish(mixed)) == "<r xmlns='urn:r' a='1'>t0<x>in</x>t1t2<y xmlns='urn:y'/>t3</r>"
    converted = to_domish(deep_lxml(DEEP))
    assert element_xml(converted) == "<a>" * DEEP + "bottom" + "</a>" * DEEP


# parsers and other walkers ----------------------------------------------------------------------------

def test_the_parsers_bound_is_max_xml_depth() -> None:
    """libxml2's own limit (``huge_tree`` off): the constant and the parser agree."""
    parse_untrusted(nested(MAX_XML_DEPTH).encode())
    with pytest.raises(etree.XMLSyntaxError, match="depth"):
        parse_untrusted(nested(MAX_XML_DEPTH + 1).encode())
    with pytest.raises(InvalidArgument):
        check_xml(nested(DEEP))


def test_search_text_of_a_too_deep_item_is_empty() -> None:
    assert search_text(nested(MAX_XML_DEPTH, "findme")) == "findme"
    assert search_text(nested(MAX_XML_DEPTH + 1, "findme")) == ""
    assert search_text(nested(DEEP, "findme")) == ""


def test_payloads_too_deep_to_compare_have_none() -> None:
    assert item_payload(f"<item>{nested(MAX_XML_DEPTH - 1)}</item>") is not None
    assert item_payload(f"<item>{nested(DEEP)}</item>") is None


def test_the_xhtml_sanitiser_refuses_more_than_the_bound() -> None:
    fitting = deep_lxml(MAX_XML_DEPTH, f"{{{NS_XHTML}}}div")
    assert "bottom" in "".join(sanitise(fitting).itertext())
    with pytest.raises(ValueError, match="deeper than"):
        sanitise(deep_lxml(MAX_XML_DEPTH + 1, f"{{{NS_XHTML}}}div"))
    with pytest.raises(ValueError, match="deeper than"):
        sanitise(deep_lxml(DEEP, f"{{{NS_XHTML}}}div"))  # no RecursionError


def deep_item(levels: int) -> str:
    """An item ``levels`` deep holding an Atom entry (item > entry > content > a…)."""
    return (f"<item xmlns='{PUBSUB}' id='deep'><entry xmlns='{ATOM}'><title>T</title><content>"
            f"{nested(levels - 3)}</content></entry></item>")


def test_the_blog_parser_skips_a_too_deep_item() -> None:
    assert parse_item(stream_parsed(deep_item(MAX_XML_DEPTH)))["title"] == "T"
    with pytest.raises(ValueError, match="deeper than"):
        parse_item(stream_parsed(deep_item(MAX_XML_DEPTH + 1)))
    with pytest.raises(ValueError, match="deeper than"):
        parse_item(stream_parsed(deep_item(DEEP)))  # not serialised first
    with pytest.raises(etree.XMLSyntaxError):
        parse_entry(deep_item(DEEP))


def test_the_cache_keeps_a_too_deep_item_raw_under_its_id() -> None:
    analysers = Analysers()
    analysers.register("XEP-0277", "blog", node="urn:xmpp:microblog:0", to_sync=True, parser=parse_item)
    analyser = analysers["XEP-0277"]
    kept = analysers.read_item(deep_item(DEEP), analyser)
    assert (kept.id, kept.xml, kept.parsed) == ("deep", deep_item(DEEP), None)
    fitting = analysers.read_item(deep_item(MAX_XML_DEPTH), analyser)
    assert fitting.parsed is not None and fitting.parsed["title"] == "T"


# one unreadable notification costs only itself ------------------------------------------------------

class FakeCacheStorage:
    """What ``_ingest`` uses of the storage: two completed nodes, changes recorded."""

    ingest_transactions = 1

    def __init__(self) -> None:
        self.nodes = {(SERVICE, name): CachedNode(id=index, name=name, service=SERVICE, type="blog",
                                                  sync_state=SyncState.COMPLETED)
                      for index, name in enumerate(("bad", "good"), 1)}
        self.applied: list[NodeChange] = []
        self.reset: list[int] = []

    async def get_nodes(self, profile: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], CachedNode]:
        return {key: self.nodes[key] for key in keys}

    async def apply_changes(self, changes: list[NodeChange]) -> list[ChangeOutcome]:
        self.applied.extend(changes)
        return [ChangeOutcome.applied(change) for change in changes]

    async def set_state(self, node_id: int, state: SyncState | None) -> None:
        self.reset.append(node_id)


SERVICE = "pubsub.localhost"


def test_a_notification_that_cannot_be_read_costs_only_its_node(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = FakeCacheStorage()
    node_sync = SimpleNamespace(held={}, ingest_lock=lambda profile: asyncio.Lock())
    cache = Ingest(storage, Analysers(), node_sync)  # type: ignore[arg-type]
    client = SimpleNamespace(profile="alice")

    def item(name: str) -> domish.Element:
        element = domish.Element((None, "item"))
        element["id"] = name
        return element

    events = [PubsubEvent(client, JID(SERVICE), node, "items", items=[item(node)])  # type: ignore[arg-type]
              for node in ("bad", "good")]
    read = cache._change

    def failing(node: PubsubNode, event: PubsubEvent) -> tuple[NodeChange | None, tuple[ReceivedItem, ...]]:
        if event.node == "bad":
            raise RecursionError("as toXml did on a deep item")
        return read(node, event)

    monkeypatch.setattr(cache, "_change", failing)
    outcomes = asyncio.run(cache._ingest(events))
    assert [(change.node_id, [i.id for i in change.items]) for change in storage.applied] == [(2, ["good"])]
    assert storage.reset == [1]  # synchronised again before it is served
    good = outcomes[1]
    assert good is not None and not good.no_op and good.category == "blog"
