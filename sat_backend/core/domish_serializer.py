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
    """``domish``'s list serialiser, same output, bounded Python stack."""

    def serialize(self, elem: Any, closeElement: int = 1, defaultUri: str = "") -> None:  # noqa: N803 - domish's API
        if closeElement == 0 or not isinstance(elem, domish.Element):
            super().serialize(elem, closeElement, defaultUri)  # no children written: no recursion
            return
        # items: (node, inherited default namespace), or (None, closing tag) after its children
        stack: list[tuple[Any, str]] = [(elem, defaultUri)]
        while stack:
            node, context = stack.pop()
            if node is None:
                self.writelist.append(context)
                self.prefixStack.pop()
                continue
            if isinstance(node, str):  # SerializedXML is a str too: written as it is
                super().serialize(node)
                continue
            closing, own_default = self._start_tag(node, context)
            if closing is None:
                continue
            stack.append((None, closing))
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


def element_xml(element: domish.Element) -> str:
    """``element.toXml()``, whatever its depth."""
    serializer = IterativeSerializer()
    serializer.serialize(element)
    return str(serializer.getValue())


def install() -> None:
    """Make every ``domish`` serialisation of the process iterative (``toXml`` looks the
    class up at each call): the stream's own sends, tx-xmpp's error echoes, our stores."""
    domish.SerializerClass = IterativeSerializer
