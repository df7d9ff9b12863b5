"""XML payloads given by frontends (pubsub items…): checked with lxml, then turned into
Twisted elements.

Untrusted XML is parsed with entity resolution, DTD loading and network access off, and
any DOCTYPE is refused outright (no entity expansion bombs, no external entities), with a
size limit. Only then is it handed to Twisted's ``domish``.
"""

from __future__ import annotations

from lxml import etree
from twisted.words.xish import domish
from tx_xmpp.generic import parseXml

from sat_backend.core.exceptions import InvalidArgument

MAX_PAYLOAD_BYTES = 1_000_000

_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, remove_blank_text=False
)


def check_xml(text: str, what: str = "payload_xml") -> etree._Element:
    """Parse untrusted XML safely.

    :raises InvalidArgument: too big, not well-formed, or has a DOCTYPE.
    """
    data = text.encode("utf-8")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise InvalidArgument(f"{what} is larger than {MAX_PAYLOAD_BYTES} bytes")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InvalidArgument(f"{what}: DOCTYPE and entity declarations are not allowed")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidArgument(f"{what} is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise InvalidArgument(f"{what}: DOCTYPE is not allowed")
    return root


def payload_element(text: str, what: str = "payload_xml") -> domish.Element:
    """A single XML element from a frontend, as a ``domish`` element ready to send."""
    root = check_xml(text, what)
    element = parseXml(etree.tostring(root))
    if not isinstance(element, domish.Element):
        raise InvalidArgument(f"{what} must be one XML element")
    return element
