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
from twisted.words.xish import domish, xmlstream as xish_xmlstream

from pyexpat import XML_PARAM_ENTITY_PARSING_NEVER
from sat_backend.core.config import DEFAULT_MAX_STANZA_SIZE
from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.parsed_garbage import PARSED
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

    def _initializeStream(self) -> None:
        super()._initializeStream()
        harden_parser(self.stream)

    def dataReceived(self, data: bytes) -> None:
        """Parse as Twisted does, counting the bytes for :mod:`~sat_backend.core.parsed_garbage`."""
        PARSED.parsed(len(data))
        super().dataReceived(data)

    def send(self, obj: Any) -> None:
        """Serialise as Twisted does, refuse what XML forbids or the server would, then write.

        :raises UnsendableStanza: a forbidden character; nothing was written.
        :raises StanzaTooLarge: over ``max_stanza_size`` bytes; nothing was written.
        """
        stanza_id = None
        if domish.IElement.providedBy(obj):
            kind = stanza_kind(obj)
            stanza_id = obj.getAttribute("id")
            obj = obj.toXml(prefixes=self.prefixes, defaultUri=self.namespace,
                            prefixesInScope=list(self.prefixes.values()))
        else:
            kind = "raw data"
        text = obj.decode("utf-8", "replace") if isinstance(obj, bytes) else obj
        index = forbidden_xml_char(text)
        if index is not None:
            where = describe_forbidden(text, index)
            log.error("refused to send %s: it holds a character XML does not allow (%s)", kind, where)
            self._forget_request(stanza_id)
            raise UnsendableStanza(f"{kind} not sent: it holds a character XML does not allow ({where})")
        data = obj if isinstance(obj, bytes) else obj.encode("utf-8")
        if len(data) > self.max_stanza_size:
            limit = f"{len(data)} bytes is too large for the server (limit {self.max_stanza_size} bytes, " \
                    "[xmpp] max_stanza_size)"
            log.warning("refused to send %s: %s", kind, limit)
            self._forget_request(stanza_id)
            raise StanzaTooLarge(f"{kind} not sent: {limit}")
        xish_xmlstream.XmlStream.send(self, data)

    def _forget_request(self, stanza_id: str | None) -> None:
        """Twisted's ``IQ.send`` registers the answer's Deferred before writing: a refused
        request's is dropped (its caller got the error), not kept until the stream ends."""
        if stanza_id is not None:
            getattr(self, "iqDeferreds", {}).pop(stanza_id, None)


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
