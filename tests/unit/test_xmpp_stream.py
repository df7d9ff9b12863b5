"""Our client XML stream refuses DTDs (RFC 6120 §11.1): the connection is dropped at the
DOCTYPE, before any entity is expanded; and it never writes a character XML forbids (the
server would close the stream). Twisted's own stream is the control."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import logging

import pytest
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.words.protocols.jabber import xmlstream as jabber_xmlstream
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from twisted.words.xish import xmlstream as xish_xmlstream

from tx_xmpp.subprotocols import XMPPHandler

from sat_backend.core.im.message_stanza import ChatMessage, message_xml
from sat_backend.core.xmpp.client import XmppClient
from sat_backend.core.xmpp.settings import ConnectionSettings
from sat_backend.core.xmpp.stream import DtdRefused, StanzaTooLarge, UnsendableStanza, XmlStream
from sat_bridge.errors import InvalidArgument

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


def presence_with_status(status: str) -> domish.Element:
    presence = domish.Element(("jabber:client", "presence"))
    presence.addElement("status", content=status)
    return presence


@pytest.mark.parametrize("text", ["bell\x07", "a\ufffeb", "\ud800", "nul\x00"])
def test_a_stanza_with_a_forbidden_character_is_refused_not_written(
        text: str, caplog: pytest.LogCaptureFixture) -> None:
    stream, transport, errors = connected(XmlStream)
    with caplog.at_level(logging.ERROR), pytest.raises(UnsendableStanza) as refused:
        stream.send(presence_with_status(f"secret {text}"))
    assert isinstance(refused.value, InvalidArgument)  # typed on the bridge too
    assert transport.value() == b"" and not transport.disconnecting and not errors
    assert "<presence>" in str(refused.value) and "secret" not in str(refused.value)
    (record,) = [r for r in caplog.records if r.name == "sat_backend.core.xmpp.stream"]
    assert "<presence> status" in record.getMessage() and "secret" not in record.getMessage()
    # the stream goes on: the next clean stanza is written
    stream.send(presence_with_status("clean, with tab\tand newline\n"))
    assert b"<status>clean, with tab\tand newline\n</status>" in transport.value()


def test_attributes_and_raw_strings_are_checked_too() -> None:
    stream, transport, _ = connected(XmlStream)
    iq = domish.Element(("jabber:client", "iq"))
    iq["type"] = "get"
    iq.addElement(("jabber:iq:roster", "query"))["ver"] = "v\x07"
    with pytest.raises(UnsendableStanza, match=r"<iq type='get'> \{jabber:iq:roster\}query"):
        stream.send(iq)
    with pytest.raises(UnsendableStanza, match="raw data"):
        stream.send("<presence><status>\x1b</status></presence>")
    assert transport.value() == b""


def test_twisteds_own_stream_would_write_it() -> None:
    """The control: Twisted writes the character, and the server closes the stream on it."""
    stream, transport, _ = connected(jabber_xmlstream.XmlStream)
    stream.send(presence_with_status("bell\x07"))
    assert b"bell\x07" in transport.value()


class Initialised(XMPPHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.initialised = False

    def connectionInitialized(self) -> None:
        self.initialised = True


def test_an_unsendable_stanza_queued_while_offline_does_not_break_the_next_session() -> None:
    """tx-xmpp flushes what was sent while offline when the session opens: one refused
    stanza stopped the flush, the session never counted as open and the queue was kept
    for the next login, again and again."""
    settings = ConnectionSettings(JID("alice@localhost"), "secret", "127.0.0.1", 5222, "none", None)
    client = XmppClient("alice", settings, MemoryReactorClock(), lambda *_: None)
    handler = Initialised()
    handler.setHandlerParent(client)
    client.send(presence_with_status("bell\x07"))
    client.send(presence_with_status("queued and fine"))
    stream, transport, _ = connected(XmlStream)
    client._connected(stream)
    client._authd(stream)
    assert b"queued and fine" in transport.value() and b"bell" not in transport.value()
    assert client.is_connected and handler.initialised and client._packetQueue == []


def message_with_body(body: str) -> domish.Element:
    message = domish.Element(("jabber:client", "message"))
    message["type"] = "chat"
    message.addElement("body", content=body)
    return message


def test_a_stanza_over_the_size_limit_is_refused_not_written(caplog: pytest.LogCaptureFixture) -> None:
    """Measured in UTF-8 bytes as written: 30,000 'é' are 60,000 bytes, over 50,000."""
    stream, transport, errors = connected(XmlStream)
    stream.max_stanza_size = 50_000
    with caplog.at_level(logging.WARNING), pytest.raises(StanzaTooLarge) as refused:
        stream.send(message_with_body("secret " + "é" * 30_000))
    assert isinstance(refused.value, UnsendableStanza) and isinstance(refused.value, InvalidArgument)
    assert "too large for the server" in str(refused.value) and "limit 50000 bytes" in str(refused.value)
    assert "<message type='chat'> body" in str(refused.value) and "secret" not in str(refused.value)
    assert transport.value() == b"" and not transport.disconnecting and not errors
    (record,) = [r for r in caplog.records if r.name == "sat_backend.core.xmpp.stream"]
    assert "<message type='chat'> body" in record.getMessage() and "secret" not in record.getMessage()
    # the stream goes on: a stanza just under the limit is written whole
    stream.send(message_with_body("é" * 24_900))
    assert 49_800 < len(transport.value()) <= 50_000


def test_the_default_limit_and_the_clients_own() -> None:
    stream, transport, _ = connected(XmlStream)
    assert stream.max_stanza_size == 64 * 1024
    with pytest.raises(StanzaTooLarge):
        stream.send(message_with_body("x" * 64 * 1024))
    settings = ConnectionSettings(JID("alice@localhost"), "secret", "127.0.0.1", 5222, "none", None)
    client = XmppClient("alice", settings, MemoryReactorClock(), lambda *_: None, max_stanza_size=20_000)
    assert client.factory.buildProtocol(None).max_stanza_size == 20_000


def test_twisteds_own_stream_would_write_any_size() -> None:
    """The control: Twisted writes it, and the server closes the stream on it."""
    stream, transport, _ = connected(jabber_xmlstream.XmlStream)
    stream.send(message_with_body("x" * 300_000))
    assert len(transport.value()) > 300_000


def test_a_refused_request_leaves_no_pending_answer() -> None:
    stream, transport, _ = connected(XmlStream)
    stream.max_stanza_size = 10_000
    iq = jabber_xmlstream.IQ(stream, "get")
    iq.addElement(("urn:example", "query"), content="q" * 20_000)
    with pytest.raises(StanzaTooLarge):
        iq.send()
    assert stream.iqDeferreds == {} and transport.value() == b""


def test_a_written_stanza_is_checked_and_named_as_its_tree_would_be() -> None:
    """``message_xml``'s text (MessageSend) meets the same checks as an element, and a
    refusal names it as the element it stands for, never quoting it."""
    stream, transport, _ = connected(XmlStream)
    stream.max_stanza_size = 50_000
    message = ChatMessage("u1", 0.0, JID("alice@localhost"), JID("bob@localhost"), {"": "secret " + "é" * 30_000}, {},
                          "chat")
    with pytest.raises(StanzaTooLarge, match=r"<message type='chat'> body not sent") as refused:
        stream.send(message_xml(message))
    assert "secret" not in str(refused.value)
    with pytest.raises(UnsendableStanza, match=r"<message type='normal'> subject not sent"):
        stream.send(message_xml(replace(message, type="normal", bodies={"": "x"}, subjects={"": "bell\x07"})))
    assert transport.value() == b""
    stream.send(message_xml(replace(message, bodies={"": "fine"})))
    assert b"<body>fine</body>" in transport.value()
