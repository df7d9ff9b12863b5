"""Twisted's ``domish`` serialiser without recursion: a deep element from a peer cannot
raise ``RecursionError`` where we store, signal or send it.

``domish.Element.toXml`` recurses once per level of nesting, so an element about 1,000
levels deep (a ~7 KB pubsub item from any peer; the server accepts it) fails in every
caller: reading the node, storing a notification, answering an unhandled IQ (tx-xmpp's
fallback echoes the request's children). Parsing it is fine: expat builds the tree
iteratively. This serialiser writes exactly what ``domish._ListSerializer`` writes (the
start tag is its code), walking the tree with an explicit stack; :func:`install` makes
every ``toXml`` of the process use it, :func:`element_xml` uses it whatever is installed.
"""

from __future__ import annotations

from typing import Any

from twisted.words.xish import domish

#: on the work stack: an element or text to write, or the end of an element
_End = tuple[str, str]


class IterativeSerializer(domish._ListSerializer):  # type: ignore[misc]
    """``domish``'s list serialiser, same output, bounded Python stack.

    Most elements declare no prefix, are in their default namespace and have plain
    attribute names: their start tag is written here in one piece, without the prefix
    bookkeeping of :meth:`_start_tag` (a pubsub item took 22 µs, 9-13 now; every item
    notified is serialised to be stored and signalled, issue 14). Any other element goes
    through :meth:`_start_tag`, Twisted's code.
    """

    def serialize(self, elem: Any, closeElement: int = 1, defaultUri: str = "") -> None:  # noqa: N803 - domish's API
        if closeElement == 0 or not isinstance(elem, domish.Element):
            super().serialize(elem, closeElement, defaultUri)  # no children written: no recursion
            return
        write = self.writelist.append
        prefixes = self.prefixes
        # items: (node, inherited default namespace); after its children, (None, closing
        # tag) for an element that pushed its prefixes, (False, closing tag) for a plain one
        stack: list[tuple[Any, Any]] = [(elem, defaultUri)]
        while stack:
            node, context = stack.pop()
            if node is None:
                write(context)
                self.prefixStack.pop()
                continue
            if node is False:
                write(context)
                continue
            if isinstance(node, str):  # SerializedXML is a str too: written as it is
                write(node if isinstance(node, domish.SerializedXML) else domish.escapeToXml(node))
                continue
            own_default = node.defaultUri if node.defaultUri is not None else context
            uri = node.uri if node.uri is not None else own_default
            start = None
            if not node.localPrefixes and uri == own_default and uri not in prefixes:
                start = _plain_start_tag(node, own_default, context)
            if start is None:
                closing, own_default = self._start_tag(node, context)
                if closing is None:
                    continue
                stack.append((None, closing))
            elif not node.children:
                write(f"{start}/>")
                continue
            else:
                write(f"{start}>")
                stack.append((False, f"</{node.name}>"))
            stack.extend((child, own_default) for child in reversed(node.children))

    def _start_tag(self, elem: domish.Element, currentDefaultUri: str) -> tuple[str | None, str]:  # noqa: N803
        """Write the start tag as ``_ListSerializer.serialize`` does (its code, up to the
        children); the closing tag to write after the children (None: an empty element,
        closed and its prefixes popped already) and the default namespace they inherit."""
        write = self.writelist.append
        name = elem.name
        uri = elem.uri
        defaultUri = elem.defaultUri  # noqa: N806 - kept as in domish, for comparison
        for p, u in elem.localPrefixes.items():
            self.prefixes[u] = p
        self.prefixStack.append(list(elem.localPrefixes.keys()))
        if defaultUri is None:
            defaultUri = currentDefaultUri  # noqa: N806
        if uri is None:
            uri = defaultUri
        prefix = None
        inScope = False  # noqa: N806
        if uri != defaultUri or uri in self.prefixes:
            prefix = self.getPrefix(uri)
            inScope = self.prefixInScope(prefix)  # noqa: N806
        if not prefix:
            write("<%s" % (name))
        else:
            write(f"<{prefix}:{name}")
            if not inScope:
                write(f" xmlns:{prefix}='{uri}'")
                self.prefixStack[-1].append(prefix)
                inScope = True  # noqa: N806
        if defaultUri != currentDefaultUri and (uri != defaultUri or not prefix or not inScope):
            write(" xmlns='%s'" % (defaultUri))
        for p, u in elem.localPrefixes.items():
            write(f" xmlns:{p}='{u}'")
        for k, v in elem.attributes.items():
            if isinstance(k, tuple):
                attr_uri, attr_name = k
                attr_prefix = self.getPrefix(attr_uri)
                if not self.prefixInScope(attr_prefix):
                    write(f" xmlns:{attr_prefix}='{attr_uri}'")
                    self.prefixStack[-1].append(attr_prefix)
                write(f" {attr_prefix}:{attr_name}='{domish.escapeToXml(v, 1)}'")
            else:
                write(f" {k}='{domish.escapeToXml(v, 1)}'")
        if not elem.children:
            write("/>")
            self.prefixStack.pop()
            return None, defaultUri
        write(">")
        return (f"</{name}>" if not prefix else f"</{prefix}:{name}>"), defaultUri


def _plain_start_tag(elem: domish.Element, own_default: str, context: str) -> str | None:
    """The start tag of an element without prefixes, unclosed (what :meth:`_start_tag`
    writes for it); None when an attribute has a namespace (a prefix to write)."""
    parts = [f"<{elem.name}"]
    if own_default != context:
        parts.append(f" xmlns='{own_default}'")
    for key, value in elem.attributes.items():
        if isinstance(key, tuple):
            return None
        parts.append(f" {key}='{domish.escapeToXml(value, 1)}'")
    return "".join(parts)


def element_xml(element: domish.Element) -> str:
    """``element.toXml()``, whatever its depth."""
    serializer = IterativeSerializer()
    serializer.serialize(element)
    return str(serializer.getValue())


def install() -> None:
    """Make every ``domish`` serialisation of the process iterative (``toXml`` looks the
    class up at each call): the stream's own sends, tx-xmpp's error echoes, our stores."""
    domish.SerializerClass = IterativeSerializer
