"""Atom entries (RFC 4287) as XEP-0277 uses them, parsed and built with lxml.

Parsing is for untrusted items: no entity resolution, no DTD, no network, and XHTML
content is sanitised. The parsed dict is what the cache stores (``parsed`` column) and
what ``MbGet`` returns.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any


from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.xml_payloads import etree, parse_untrusted
from sat_backend.plugins.microblog.comments import parse_comments_uri, split_xmpp_uri
from sat_backend.plugins.microblog.xhtml import NS_XHTML, sanitise

NS_ATOM = "http://www.w3.org/2005/Atom"
A = f"{{{NS_ATOM}}}"
DATA_KEYS = ("id", "title", "content", "content_xhtml", "tags", "comments")
#: of :func:`parse_entry`'s output (and of :mod:`.xhtml`'s sanitising): bump it on any
#: change, so that cached blog nodes are parsed again (``MbGet`` returns stored data)
PARSER_VERSION = 1


def parse_entry(entry_xml: bytes | str) -> dict[str, Any]:
    """Parsed form of an ``<entry/>``, or of the ``<item/>`` holding it (then with its
    ``item_id``).

    :raises ValueError: not an Atom entry, or DOCTYPE/entity declarations.
    :raises etree.XMLSyntaxError: not well-formed.
    """
    root = parse_untrusted(entry_xml.encode("utf-8") if isinstance(entry_xml, str) else entry_xml)
    entry = root if root.tag == f"{A}entry" else root.find(f"{A}entry")
    if entry is None:
        raise ValueError("no Atom entry in the item")
    parsed: dict[str, Any] = {}
    if entry is not root and root.get("id"):
        parsed["item_id"] = root.get("id")  # the pubsub item holding the entry
    parsed |= {
        "id": _text(entry, "id"),
        "title": _text_construct(entry.find(f"{A}title"))[0],
        "published": _date(entry, "published"),
        "updated": _date(entry, "updated"),
        "tags": [c.get("term") for c in entry.findall(f"{A}category") if c.get("term")],
    }
    # XEP-0277 allows a text and an XHTML version of the content side by side
    parsed["content"] = ""
    for element in entry.findall(f"{A}content"):
        text, xhtml = _text_construct(element)
        if xhtml is not None:
            parsed.setdefault("content_xhtml", xhtml)
            parsed["content"] = parsed["content"] or text  # a text version wins when present
        elif text:
            parsed["content"] = text
    author = entry.find(f"{A}author")
    if author is not None:
        parsed["author"] = {key: _text(author, key) for key in ("name", "uri", "email") if _text(author, key)}
        author_uri = split_xmpp_uri(parsed["author"].get("uri", ""))
        if author_uri is not None:
            parsed["author"]["jid"] = author_uri[0]  # XEP-0277 §3.1: the author's JID
    for link in entry.findall(f"{A}link"):
        if link.get("rel") == "replies" and link.get("title") == "comments" and link.get("href"):
            parsed["comments"] = link.get("href")
            where = parse_comments_uri(parsed["comments"])
            if where is not None:
                parsed["comments_service"], parsed["comments_node"] = where
    return parsed


def build_entry(data: dict[str, Any], author_jid: str) -> etree._Element:
    """An Atom entry from ``MbSend`` data.

    :raises InvalidArgument: unknown key, wrong type, or nothing to publish.
    """
    unknown = sorted(set(data) - set(DATA_KEYS))
    if unknown:
        raise InvalidArgument(f"unknown microblog field(s) {', '.join(unknown)}; known: {', '.join(DATA_KEYS)}")
    for key in ("id", "title", "content", "content_xhtml", "comments"):
        if key in data and not isinstance(data[key], str):
            raise InvalidArgument(f"{key} must be a string")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise InvalidArgument("tags must be a list of strings")
    if not (data.get("title") or data.get("content") or data.get("content_xhtml")):
        raise InvalidArgument("a blog post needs a title or a content")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    entry = etree.Element(f"{A}entry", nsmap={None: NS_ATOM})
    etree.SubElement(entry, f"{A}title").text = data.get("title") or data.get("content", "")[:80]
    etree.SubElement(entry, f"{A}id").text = data.get("id") or f"urn:uuid:{uuid.uuid4()}"
    etree.SubElement(entry, f"{A}published").text = now
    etree.SubElement(entry, f"{A}updated").text = now
    author = etree.SubElement(entry, f"{A}author")
    etree.SubElement(author, f"{A}name").text = author_jid.split("@")[0]
    etree.SubElement(author, f"{A}uri").text = f"xmpp:{author_jid}"
    if data.get("content"):
        etree.SubElement(entry, f"{A}content", type="text").text = data["content"]
    if data.get("content_xhtml"):
        try:
            fragment = parse_untrusted(f"<div xmlns='{NS_XHTML}'>{data['content_xhtml']}</div>".encode())
        except (etree.XMLSyntaxError, ValueError) as exc:
            raise InvalidArgument(f"content_xhtml is not well-formed: {exc}") from None
        try:
            clean = sanitise(fragment)
        except ValueError as exc:
            raise InvalidArgument(f"content_xhtml: {exc}") from None
        etree.SubElement(entry, f"{A}content", type="xhtml").append(clean)
    for tag in tags:
        etree.SubElement(entry, f"{A}category", term=tag)
    if data.get("comments"):
        etree.SubElement(entry, f"{A}link", rel="replies", title="comments", href=data["comments"])
    return entry


def _text(parent: etree._Element, name: str) -> str:
    child = parent.find(f"{A}{name}")
    return (child.text or "").strip() if child is not None else ""


def _date(parent: etree._Element, name: str) -> str:
    """An RFC 3339 date as written, or "" when missing or not a date (a peer's typo
    must not reach frontends as if it were one)."""
    text = _text(parent, name)
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return ""
    return text


def _text_construct(element: etree._Element | None) -> tuple[str, str | None]:
    """(plain text, sanitised XHTML or None) of an Atom text construct."""
    if element is None:
        return "", None
    if element.get("type") == "xhtml":
        div = element.find(f"{{{NS_XHTML}}}div")
        clean = sanitise(div if div is not None else element)
        return "".join(clean.itertext()).strip(), etree.tostring(clean, encoding="unicode")
    return (element.text or "").strip(), None
