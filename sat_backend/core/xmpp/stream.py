"""The XML stream of our client connections, with a parser that refuses DTDs.

RFC 6120 §11.1 forbids internal and external DTD subsets in XMPP, but Twisted's expat
stream parser still expands the entities a ``<!DOCTYPE …>`` declares: a few hundred
bytes of nested entities (the "billion laughs") sent before ``<stream:stream>`` kept it
busy for over a minute, and the whole daemon with it. Here the parser stops at the
first DOCTYPE or entity declaration, the stream fails with a parse error and the
connection is dropped, before anything is expanded.
"""

from __future__ import annotations

from typing import Any

from twisted.words.protocols.jabber import xmlstream
from twisted.words.xish import domish

from pyexpat import XML_PARAM_ENTITY_PARSING_NEVER


class DtdRefused(domish.ParserError):
    """The peer sent a DOCTYPE or an entity declaration (forbidden in XMPP)."""


class XmlStream(xmlstream.XmlStream):  # type: ignore[misc]
    """``xmlstream.XmlStream`` whose parser (rebuilt on every stream restart: after
    STARTTLS, after SASL) refuses document type declarations."""

    def _initializeStream(self) -> None:
        super()._initializeStream()
        harden_parser(self.stream)


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
