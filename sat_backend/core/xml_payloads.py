"""XML payloads given by frontends (pubsub items…): checked with lxml, then turned into
Twisted elements.

Untrusted XML is parsed with entity resolution, DTD loading and network access off, and
any DOCTYPE is refused outright (no entity expansion bombs, no external entities), with a
size limit. Only then is it handed to Twisted's ``domish``.

Depth is bounded by :data:`MAX_XML_DEPTH` everywhere XML is walked: libxml2 refuses
deeper documents (its default ``xmlParserMaxDepth``, kept: ``huge_tree`` is off), and
the walkers of our own that recurse check it; the conversions here are iterative.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from twisted.words.xish import domish

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.lazy_import import lazy_module
from sat_bridge.xml_text import check_xml_text

if TYPE_CHECKING:
    from lxml import etree
else:  # imported by the first parse (~8 ms of CPU a start does not need; issue 14)
    etree = lazy_module("lxml.etree")

MAX_PAYLOAD_BYTES = 1_000_000
#: levels of elements, the root counted, that we parse, walk or convert. libxml2's own
#: limit without ``huge_tree`` (lxml refuses one level more: one bound for every parser);
#: far above real payloads (an Atom entry with XHTML content is ~10 levels), far below
#: Python's recursion limit (1,000 frames) for the few walkers that recurse. A deeper
#: item is stored and returned raw, never parsed.
MAX_XML_DEPTH = 256



@cache
def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, remove_blank_text=False
    )


class UnsafeXml(ValueError):
    """The XML declares a DOCTYPE or entities: refused without being expanded."""


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse XML from the network or a frontend with nothing expanded or fetched.

    :raises UnsafeXml: DOCTYPE or entity declarations.
    :raises etree.XMLSyntaxError: not well-formed.
    """
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnsafeXml("DOCTYPE and entity declarations are not allowed")
    root = etree.fromstring(data, _parser())
    if root.getroottree().docinfo.doctype:
        raise UnsafeXml("DOCTYPE is not allowed")
    return root


def check_xml(text: str, what: str = "payload_xml") -> etree._Element:
    """Parse untrusted XML safely, for a bridge argument.

    :raises InvalidArgument: a character XML forbids (a lone surrogate cannot even be
        encoded), too big, not well-formed, or has a DOCTYPE.
    """
    check_xml_text(text, what)
    data = text.encode("utf-8")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise InvalidArgument(f"{what} is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        return parse_untrusted(data)
    except UnsafeXml as exc:
        raise InvalidArgument(f"{what}: {exc}") from None
    except etree.XMLSyntaxError as exc:
        raise InvalidArgument(f"{what} is not well-formed XML: {exc}") from None


def payload_element(text: str, what: str = "payload_xml") -> domish.Element:
    """A single XML element from a frontend, as a ``domish`` element ready to send."""
    return to_domish(check_xml(text, what))


def to_domish(element: etree._Element) -> domish.Element:
    """Convert an lxml element (with its text, children and tails) to ``domish``, with
    an explicit stack (no recursion, whatever the depth).

    ``tx_xmpp.generic.parseXml`` would lose the root's own text: it parses a document as
    an XML stream, where top-level character data does not belong to any element.
    """
    root = _domish_copy(element)
    stack = [(element, root)]
    while stack:
        source, converted = stack.pop()
        if source.text:
            converted.addContent(source.text)
        for child in source:
            if isinstance(child.tag, str):  # not comments nor processing instructions
                # added now, filled later: the children and the text between them keep their order
                child_copy = _domish_copy(child)
                converted.addChild(child_copy)
                stack.append((child, child_copy))
            if child.tail:
                converted.addContent(child.tail)
    return root


def _domish_copy(element: etree._Element) -> domish.Element:
    """The element's name and attributes, without content."""
    qname = etree.QName(element)
    converted = domish.Element((qname.namespace, qname.localname))
    for name, value in element.attrib.items():
        attribute = etree.QName(name)
        key = (attribute.namespace, attribute.localname) if attribute.namespace else attribute.localname
        converted[key] = value
    return converted


def deeper_than(element: domish.Element, limit: int = MAX_XML_DEPTH) -> bool:
    """Whether ``element`` has more than ``limit`` levels (itself counted); walks at most
    ``limit + 1`` levels, without recursion."""
    level: list[domish.Element] = [element]
    for _ in range(limit):
        level = [child for parent in level for child in parent.elements()]
        if not level:
            return False
    return True


def check_xml_strings(value: Any, what: str) -> None:
    """Every string in a JSON value (object keys too) allowed by XML 1.0: options and
    form values go into stanzas. Walked with an explicit stack (any nesting).

    :raises InvalidArgument: a forbidden character (named, the value never echoed).
    """
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            check_xml_text(current, what)
        elif isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, (list, tuple)):
            stack.extend(current)


def item_payload(item_xml: str) -> bytes | None:
    """What a pubsub item says, whatever namespace its ``<item/>`` wrapper had (``pubsub``
    from a request, ``pubsub#event`` from a notification): its children canonicalised,
    with the text between them (whitespace around it is layout, not content). None when
    the item is not safe, well-formed XML (nothing to compare then)."""
    try:
        item = check_xml(item_xml, "item")
    except InvalidArgument:
        return None
    return canonical_children(item)


def canonical_children(item: etree._Element) -> bytes:
    """:func:`item_payload` of an item already parsed (and checked)."""
    parts = [escape((item.text or "").strip()).encode()]
    for child in item:
        if isinstance(child.tag, str):  # not comments nor processing instructions
            parts.append(etree.tostring(child, method="c14n", exclusive=True))  # without its tail
        parts.append(escape((child.tail or "").strip()).encode())
    return b"".join(parts)
