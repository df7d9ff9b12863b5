"""A pubsub item as it arrives (a notification, a sync's answer), read once at the edge.

Before, an item went through the cache serialised twice, parsed by lxml three times
(safety check, search text, then both the stored and the notified copy to compare them
canonically) and rebuilt as ``domish``. A :class:`ReceivedItem` is built once, where the
item arrives, and carries everything later steps need: the raw XML (stored as it is and
signalled in ``PsEvent``), the checked lxml tree, the canonical bytes of its payload and
their digest (storage compares digests: a notification of an item already stored as it
is costs one comparison), the words for full-text search and the parser's data.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from twisted.words.xish import domish

from sat_backend.core.domish_serializer import element_xml
from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.lazy_import import lazy_module
from sat_backend.core.xml_payloads import canonical_children, check_xml, etree, parse_untrusted, to_domish

if TYPE_CHECKING:
    from sat_backend.memory import pubsub_fts
else:  # the text of an item is indexed when one is received, not at start
    pubsub_fts = lazy_module("sat_backend.memory.pubsub_fts")

log = logging.getLogger(__name__)

#: a node's parser: the item as ``domish`` → data stored as JSON beside the raw XML
Parser = Callable[[domish.Element], dict[str, Any]]
#: put before the raw bytes of an item that is not safe, well-formed XML, so that its
#: digest never equals that of a readable item's canonical payload (c14n has no NUL)
RAW_DIGEST_PREFIX = b"\0raw\0"


@dataclass(frozen=True)
class ReceivedItem:
    """One item, read once.

    ``canonical`` is None when the item is not safe, well-formed XML (refused by
    :func:`~sat_backend.core.xml_payloads.check_xml`: DOCTYPE, too big, too deep…); it is
    then stored raw, with no parsed data and no words, and its digest is that of its raw
    bytes (the same raw XML again is the same item, as before).
    """

    id: str
    #: as stored and signalled (``domish``'s serialisation for a notification)
    xml: str
    publisher: str | None = None
    #: the checked item as lxml, None when refused (see the class)
    payload: etree._Element | None = field(default=None, compare=False, repr=False)
    canonical: bytes | None = field(default=None, repr=False)
    #: hex SHA-256 of ``canonical`` (of the prefixed raw bytes when unreadable)
    digest: str = ""
    search_text: str = ""
    parsed: dict[str, Any] | None = None

    @classmethod
    def from_element(cls, element: domish.Element, parser: Parser | None = None,
                     parser_name: str = "") -> ReceivedItem:
        """An item of a notification: serialised once, then read as :meth:`from_xml`."""
        return cls.from_xml(element_xml(element), parser, parser_name, item_id=str(element.getAttribute("id") or ""))

    @classmethod
    def from_xml(cls, xml: str, parser: Parser | None = None, parser_name: str = "",
                 item_id: str | None = None) -> ReceivedItem:
        """An item from its raw XML. ``item_id``: when the caller knows it already; else
        read from the XML (from the start tag alone if the item is refused whole, so that
        it is still stored under its id: a sync checks every listed id).

        The parser runs only on safe XML; when it fails the item is kept raw, with a
        warning (``parser_name`` says which parser)."""
        try:
            root: etree._Element | None = check_xml(xml, "item")
        except InvalidArgument as exc:
            log.warning("unparsable pubsub item kept raw: %s", exc)
            root = None
        if root is None:
            return cls(item_id if item_id is not None else _start_tag_id(xml), xml, digest=raw_digest(xml),
                       search_text=pubsub_fts.search_text(xml))
        canonical = canonical_children(root)
        parsed = None
        if parser is not None:
            try:
                parsed = parser(to_domish(root))
            except Exception as exc:  # noqa: BLE001 - keep the raw item, log the parser's failure
                log.warning("parser %s failed on an item: %s", parser_name, exc)
        publisher = root.get("publisher")
        return cls(item_id if item_id is not None else str(root.get("id") or ""), xml,
                   str(publisher) if publisher is not None else None, root, canonical,
                   hashlib.sha256(canonical).hexdigest(), pubsub_fts.tree_text(root), parsed)


def digest_of(xml: str) -> str:
    """The digest :class:`ReceivedItem` gives this raw XML (for rows stored without one)."""
    try:
        return hashlib.sha256(canonical_children(check_xml(xml, "item"))).hexdigest()
    except InvalidArgument:
        return raw_digest(xml)


def raw_digest(xml: str) -> str:
    """Digest of an item that is not safe, well-formed XML: of its raw bytes, prefixed."""
    return hashlib.sha256(RAW_DIGEST_PREFIX + xml.encode("utf-8", "surrogatepass")).hexdigest()


def _start_tag_id(xml: str) -> str:
    """The id of an item refused whole (over the size limit…), from its start tag alone.
    Items come serialised by ``domish``, which escapes ``>`` in attributes: the first one
    ends the tag."""
    head = xml[:xml.find(">")].rstrip("/")
    try:
        return str(parse_untrusted(f"{head}/>".encode()).get("id") or "")
    except (etree.XMLSyntaxError, ValueError):
        return ""


def stored_item(item_id: str, xml: str) -> ReceivedItem:
    """An item read from its raw XML under a known id, with no parser (tools and tests
    that fill the cache's storage directly)."""
    return ReceivedItem.from_xml(xml, item_id=item_id)
