"""Our client XML stream refuses DTDs (RFC 6120 §11.1): the connection is dropped at the
DOCTYPE, before any entity is expanded. Twisted's own stream is the control."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.testing import StringTransport
from twisted.words.protocols.jabber import xmlstream as jabber_xmlstream
from twisted.words.xish import xmlstream as xish_xmlstream

from sat_backend.core.xmpp.stream import DtdRefused, XmlStream

STREAM_HEADER = (b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                 b"from='localhost' id='s1' version='1.0'>")
LAUGHS = (b"<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY a 'aaaaaaaaaa'>"
          + b"".join(b"<!ENTITY %s '%s'>" % (bytes([ord('b') + i]), (b"&%s;" % bytes([ord('a') + i])) * 10)
                     for i in range(3))
          + b"]>")


def connected(stream_class: type) -> tuple[Any, StringTransport, list[Any]]:
    stream = stream_class(jabber_xmlstream.Authenticator())
    errors: list[Any] = []
    stream.addObserver(xish_xmlstream.STREAM_ERROR_EVENT, errors.append)
    transport = StringTransport()
    stream.makeConnection(transport)
    return stream, transport, errors


@pytest.mark.parametrize("prologue", [
    LAUGHS,
    b"<?xml version='1.0'?><!DOCTYPE stream:stream SYSTEM 'file:///etc/passwd'>",
    b"<!DOCTYPE x [<!ENTITY % p SYSTEM 'http://127.0.0.1:9/x'> %p;]>",
])
def test_a_doctype_drops_the_connection_before_any_expansion(prologue: bytes) -> None:
    stream, transport, errors = connected(XmlStream)
    stream.dataReceived(prologue + STREAM_HEADER + b"<message><body>&d;</body></message>")
    assert transport.disconnecting
    assert len(errors) == 1 and errors[0].check(DtdRefused)
    assert "RFC 6120" in errors[0].getErrorMessage()


def test_the_parser_is_hardened_again_after_a_stream_restart() -> None:
    stream, transport, errors = connected(XmlStream)
    stream.dataReceived(STREAM_HEADER)
    assert not transport.disconnecting and not errors
    stream.reset()  # what STARTTLS and SASL do: a new parser for the new stream
    stream.dataReceived(LAUGHS + STREAM_HEADER)
    assert transport.disconnecting and errors[0].check(DtdRefused)


def test_twisteds_own_stream_would_expand_them() -> None:
    """The control: without our parser the entities are expanded (≈ 10,000 bytes here)."""
    stream, transport, errors = connected(jabber_xmlstream.XmlStream)
    bodies: list[str] = []
    stream.addObserver("/message", lambda message: bodies.append(str(message.body)))
    stream.dataReceived(LAUGHS + STREAM_HEADER + b"<message><body>&d;</body></message>")
    assert not errors and bodies == ["a" * 10_000]
