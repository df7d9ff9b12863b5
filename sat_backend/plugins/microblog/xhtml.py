"""Sanitising XHTML from the network or a frontend: a whitelist, nothing executable.

Allowed: common text markup, links (http, https, xmpp, mailto) and images (http, https,
data:image). Everything else is unwrapped (its text kept), except ``script``/``style``
and their content, which disappear. ``on*`` attributes and other attributes are dropped.
The walk recurses: it refuses trees deeper than
:data:`~sat_backend.core.xml_payloads.MAX_XML_DEPTH` (``ValueError``).
"""

from __future__ import annotations


from sat_backend.core.xml_payloads import MAX_XML_DEPTH, etree

NS_XHTML = "http://www.w3.org/1999/xhtml"
ALLOWED = {
    "p": set(), "br": set(), "em": set(), "strong": set(), "b": set(), "i": set(), "u": set(),
    "ul": set(), "ol": set(), "li": set(), "blockquote": set(), "code": set(), "pre": set(),
    "span": set(), "div": set(), "h1": set(), "h2": set(), "h3": set(), "h4": set(),
    "a": {"href", "title"}, "img": {"src", "alt", "title"},
}
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed"}
SAFE_SCHEMES = ("http://", "https://", "xmpp:", "mailto:")


def sanitise(root: etree._Element) -> etree._Element:
    """A cleaned copy of ``root`` (a ``div``), whatever namespace its elements have.

    :raises ValueError: ``root`` has more than ``MAX_XML_DEPTH`` levels.
    """
    clean = etree.Element(f"{{{NS_XHTML}}}div", nsmap={None: NS_XHTML})
    clean.text = root.text
    for child in root:
        _copy(child, clean, 2)
    return clean


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _copy(source: etree._Element, parent: etree._Element, level: int) -> None:
    """Copy ``source``, at ``level`` of the tree being sanitised (its root is 1)."""
    if level > MAX_XML_DEPTH:
        raise ValueError(f"XHTML nested deeper than {MAX_XML_DEPTH} levels")
    name = _local(source.tag)
    if name in DROPPED_WITH_CONTENT or not name:
        _append_text(parent, source.tail)
        return
    if name not in ALLOWED:
        _append_text(parent, source.text)
        for child in source:
            _copy(child, parent, level + 1)
        _append_text(parent, source.tail)
        return
    element = etree.SubElement(parent, f"{{{NS_XHTML}}}{name}")
    for attribute in ALLOWED[name]:
        value = source.get(attribute)
        if value is not None and _safe_value(name, attribute, value):
            element.set(attribute, value)
    element.text = source.text
    for child in source:
        _copy(child, element, level + 1)
    element.tail = source.tail


def _safe_value(tag: str, attribute: str, value: str) -> bool:
    if attribute not in ("href", "src"):
        return True
    lowered = value.strip().lower()
    if tag == "img" and lowered.startswith("data:image/"):
        return True
    return lowered.startswith(SAFE_SCHEMES)


def _append_text(parent: etree._Element, text: str | None) -> None:
    if not text:
        return
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
