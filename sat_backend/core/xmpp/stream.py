"""The XML stream of our client connections: a parser that refuses DTDs, and a writer that
refuses characters XML forbids.

RFC 6120 §11.1 forbids internal and external DTD subsets in XMPP, but Twisted's expat
stream parser still expands the entities a ``<!DOCTYPE …>`` declares: a few hundred
bytes of nested entities (the "billion laughs") sent before ``<stream:stream>`` kept it
busy for over a minute, and the whole daemon with it. Here the parser stops at the
first DOCTYPE or entity declaration, the stream fails with a parse error and the
connection is dropped, before anything is expanded.

Outgoing, a character XML 1.0 forbids (``\x07`` in a status, U+FFFE in a body) makes the
server close the stream; a stored value would then be sent again at every login, and the
profile reconnect forever. Callers check their text first (``InvalidArgument``), and
this is the last guard whatever code path built the stanza (a plugin, a stored value):
such a stanza is not written, the error is logged by stanza kind (never its content)
and raised to the caller, and the stream stays up.

Each received stanza is offered to every XPath observer of the stream (~17: messages,
presences, IQs of each plugin), and Twisted evaluates each query in full, walking the
stanza's children for ``/message/x[@xmlns=…]``. Here a query first checks what it
names, the root element and the first child's name, and runs Twisted's evaluation only
when both are there (:class:`NamedXPathQuery`): the same matches, a few calls per
observer instead of dozens (issue 14, ``MessageSend``). And a stanza is offered only to
the observers whose query names its element (or names none): a ``<message/>`` is
matched against the few ``/message…`` queries, not against every ``/iq…`` and
``/presence…`` one (:meth:`XmlStream.dispatch`, same order, same one-time removal).

The same goes for size: a server closes the stream of a client that sends a stanza over
its limit (Prosody 0.12 ``c2s_stanza_size_limit``, 256 KiB; ejabberd ``max_stanza_size``,
64 KiB for years and still common; jabberd2 64 KiB), and the session is lost. Bridge
strings are bounded one by one, but a stanza holds several (a body and a subject, many
item ids): the stanza itself is measured here, in UTF-8 bytes as written, against
``[xmpp] max_stanza_size``.
"""

from __future__ import annotations

import logging
from typing import Any

from twisted.words.protocols.jabber import xmlstream
from twisted.words.xish import domish, xmlstream as xish_xmlstream, xpath

from pyexpat import XML_PARAM_ENTITY_PARSING_NEVER
from sat_backend.core.config import DEFAULT_MAX_STANZA_SIZE
from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.parsed_garbage import PARSED, unlink_parents
from sat_backend.core.xmpp.written_stanza import WrittenStanza
from sat_bridge.xml_text import describe_forbidden, forbidden_xml_char

log = logging.getLogger(__name__)


class DtdRefused(domish.ParserError):
    """The peer sent a DOCTYPE or an entity declaration (forbidden in XMPP)."""


class UnsendableStanza(InvalidArgument):
    """A stanza we were about to send holds a character XML 1.0 forbids: not sent."""


class StanzaTooLarge(UnsendableStanza):
    """A stanza we were about to send is larger than the server accepts: not sent."""


class XmlStream(xmlstream.XmlStream):  # type: ignore[misc]
    """``xmlstream.XmlStream`` whose parser (rebuilt on every stream restart: after
    STARTTLS, after SASL) refuses document type declarations, and which never writes a
    character XML forbids nor a stanza over ``max_stanza_size`` bytes."""

    def __init__(self, authenticator: Any, max_stanza_size: int = DEFAULT_MAX_STANZA_SIZE) -> None:
        super().__init__(authenticator)
        self.max_stanza_size = max_stanza_size
        #: XPath observers by the element name they may match (:meth:`_observers_of`)
        self._by_name: dict[str | None, list[tuple[int, Any, Any]]] | None = None

    def _initializeStream(self) -> None:
        super()._initializeStream()
        harden_parser(self.stream)

    def _getEventAndObservers(self, event: Any) -> tuple[Any, dict[int, Any]]:  # noqa: N802 - Twisted's
        """As Twisted, but an XPath given as a string becomes a :class:`NamedXPathQuery`
        (one per string, as Twisted interns its queries: removing by the same string
        finds it)."""
        if isinstance(event, str) and self.prefix != event[: len(self.prefix)]:
            return named_query(event), self._xpathObservers
        return super()._getEventAndObservers(event)  # type: ignore[no-any-return]

    def _addObserver(self, onetime: bool, event: Any, observerfn: Any, priority: int,  # noqa: N802 - Twisted's
                     *args: Any, **kwargs: Any) -> None:
        super()._addObserver(onetime, event, observerfn, priority, *args, **kwargs)
        self._by_name = None

    def removeObserver(self, event: Any, observerfn: Any) -> None:  # noqa: N802 - Twisted's
        super().removeObserver(event, observerfn)
        self._by_name = None

    def dispatch(self, obj: Any, event: Any = None) -> bool:
        """As Twisted's, for an element (an XPath event): its observers in the same order
        (priority, then registration) and one-time ones removed alike, but only those
        whose query can match an element of that name (:meth:`_observers_of`)."""
        if event is not None:
            return super().dispatch(obj, event)  # type: ignore[no-any-return]
        found = False
        self._dispatchDepth += 1
        emptied = []
        for priority, query, callbacks in self._observers_of(obj.name):
            if query.matches(obj):
                callbacks.callback(obj)
                found = True
                if callbacks.isEmpty():
                    emptied.append((priority, query))
        for priority, query in emptied:
            self._xpathObservers[priority].pop(query, None)
        if emptied:
            self._by_name = None
        self._dispatchDepth -= 1
        if self._dispatchDepth == 0:
            updates, self._updateQueue = self._updateQueue, []
            for update in updates:
                update()
        return found

    def _observers_of(self, name: str) -> list[tuple[int, Any, Any]]:
        """The XPath observers an element named ``name`` is offered to, in Twisted's
        order. Worked out once until observers change, for each name a query names, and
        once for every other name (those of the queries naming none): a peer sending
        elements of ever new names cannot grow it."""
        by_name = getattr(self, "_by_name", None)
        if by_name is None:
            every = [(priority, query, callbacks)
                     for priority in sorted(self._xpathObservers, reverse=True)
                     for query, callbacks in self._xpathObservers[priority].items()]
            named = {getattr(query, "root_name", None) for _, query, _ in every}
            by_name = self._by_name = {
                root: [entry for entry in every if getattr(entry[1], "root_name", None) in (None, root)]
                for root in named | {None}
            }
        observers = by_name.get(name)
        return observers if observers is not None else by_name[None]

    def dataReceived(self, data: bytes) -> None:
        """Parse as Twisted does, counting the bytes for :mod:`~sat_backend.core.parsed_garbage`."""
        PARSED.parsed(len(data))
        super().dataReceived(data)

    def onElement(self, element: domish.Element) -> None:  # noqa: N802 - Twisted's
        """Dispatch as Twisted does, then unlink the stanza's children from their parents
        (:func:`~sat_backend.core.parsed_garbage.unlink_parents`): freed by reference
        counting once no handler holds it, not left to the cyclic collector."""
        try:
            super().onElement(element)
        finally:
            unlink_parents(element)

    def send(self, obj: Any) -> None:
        """Serialise as Twisted does, refuse what XML forbids or the server would, then write.

        :raises UnsendableStanza: a forbidden character; nothing was written.
        :raises StanzaTooLarge: over ``max_stanza_size`` bytes; nothing was written.
        """
        element = obj if domish.IElement.providedBy(obj) else None
        if element is not None:
            obj = element.toXml(prefixes=self.prefixes, defaultUri=self.namespace,
                                prefixesInScope=list(self.prefixes.values()))
        text = obj.decode("utf-8", "replace") if isinstance(obj, bytes) else obj
        index = forbidden_xml_char(text)
        if index is not None:
            where = describe_forbidden(text, index)
            kind = self._refused(element, obj)
            log.error("refused to send %s: it holds a character XML does not allow (%s)", kind, where)
            raise UnsendableStanza(f"{kind} not sent: it holds a character XML does not allow ({where})")
        data = obj if isinstance(obj, bytes) else obj.encode("utf-8")
        if len(data) > self.max_stanza_size:
            limit = f"{len(data)} bytes is too large for the server (limit {self.max_stanza_size} bytes, " \
                    "[xmpp] max_stanza_size)"
            kind = self._refused(element, obj)
            log.warning("refused to send %s: %s", kind, limit)
            raise StanzaTooLarge(f"{kind} not sent: {limit}")
        xish_xmlstream.XmlStream.send(self, data)

    def _refused(self, element: domish.Element | None, written: object) -> str:
        """What a refused stanza is, for its log line and error (:func:`stanza_kind`; only
        then worked out, not for each stanza sent). Twisted's ``IQ.send`` registers the
        answer's Deferred before writing: a refused request's is dropped (its caller got
        the error), not kept until the stream ends."""
        if element is None:
            return written.kind if isinstance(written, WrittenStanza) else "raw data"
        stanza_id = element.getAttribute("id")
        if stanza_id is not None:
            getattr(self, "iqDeferreds", {}).pop(stanza_id, None)
        return stanza_kind(element)


def stanza_kind(element: domish.Element) -> str:
    """``<iq type='set'> {jabber:iq:roster}query``: what a stanza is, for a log line,
    without any of its text or addresses."""
    kind = f"<{element.name}"
    if element.getAttribute("type"):
        kind += f" type={str(element['type'])[:20]!r}"
    kind += ">"
    child = next(iter(element.elements()), None)
    if child is not None:
        kind += f" {{{child.uri}}}{child.name}" if child.uri not in (None, "", element.uri) else f" {child.name}"
    return kind


def harden_parser(element_stream: Any) -> None:
    """Make an expat-based ``domish`` element stream refuse DTDs; any other parser is
    left as it is (Twisted falls back to sux only when expat is missing)."""
    parser = getattr(element_stream, "parser", None)
    if parser is None:
        return
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.SetParamEntityParsing(XML_PARAM_ENTITY_PARSING_NEVER)


def _refuse_doctype(name: str, *_: Any) -> None:
    raise DtdRefused(f"the server sent a DOCTYPE ({name!r}), which XMPP forbids (RFC 6120 §11.1)")


def _refuse_entity(name: str, *_: Any) -> None:
    raise DtdRefused(f"the server declared an entity ({name!r}), which XMPP forbids (RFC 6120 §11.1)")


class NamedXPathQuery(xpath.XPathQuery):  # type: ignore[misc]
    """Twisted's query, whose :meth:`matches` first checks the names the query starts
    with: ``/message/x[…]`` cannot match an ``<iq/>``, nor a message without an ``x``
    child. Only a plain path (``/name…``) is checked this way, ``//name`` and ``/*``
    go straight to Twisted's evaluation."""

    def __init__(self, query: str) -> None:
        super().__init__(query)
        location = self.baseLocation
        plain = type(location) is xpath._Location
        #: the root element's name the query needs, if any
        self.root_name: str | None = location.elementName if plain else None
        child = location.childLocation if plain else None
        #: the name one of its children must have, if any
        self.child_name: str | None = child.elementName if type(child) is xpath._Location else None

    def matches(self, elem: Any) -> Any:
        if self.root_name is not None and self.root_name != elem.name:
            return 0
        child_name = self.child_name
        if child_name is not None:
            for child in elem.children:
                if getattr(child, "name", None) == child_name:
                    break
            else:
                return 0
        return self.baseLocation.matches(elem)


_NAMED_QUERIES: dict[str, NamedXPathQuery] = {}


def named_query(query: str) -> NamedXPathQuery:
    """The :class:`NamedXPathQuery` of ``query``, parsed once per process."""
    named = _NAMED_QUERIES.get(query)
    if named is None:
        named = _NAMED_QUERIES[query] = NamedXPathQuery(query)
    return named
