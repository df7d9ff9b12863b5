"""``message_xml`` writes the very text our stream writes for ``build_message_element``:
the two are held to the same bytes on the wire, through the stream's own ``send``."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.testing import StringTransport
from twisted.words.protocols.jabber import xmlstream
from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.im.message_stanza import ChatMessage, build_message_element, message_xml
from sat_backend.core.xmpp.stream import XmlStream
from sat_bridge.xml_text import forbidden_xml_char

ME = JID("alice@localhost/sat")
#: resources may hold what XML escapes
RECIPIENTS = [JID("bob@localhost"), JID("bob@localhost/a'b&c<d>\"e"), JID("room@muc.localhost/n é ü")]
#: what a body or subject may hold: XML's allowed characters, escaped ones first
TEXT = st.text(alphabet=st.sampled_from("&<>'\"\t\n\r ]]>é€😀" + string.ascii_letters).filter(
    lambda text: forbidden_xml_char(text) is None))
LANG = st.sampled_from(["", "en", "fr-CA", "x-'&"])


def _on_the_wire(stanza: object) -> bytes:
    stream = XmlStream(xmlstream.Authenticator())
    stream.namespace = "jabber:client"
    transport = StringTransport()
    stream.makeConnection(transport)
    transport.clear()  # the stream header, if any
    stream.send(stanza)
    return transport.value()


@settings(max_examples=200, deadline=None)
@given(bodies=st.dictionaries(LANG, TEXT.filter(bool), max_size=3),
       subjects=st.dictionaries(LANG, TEXT.filter(bool), max_size=2),
       recipient=st.sampled_from(RECIPIENTS), message_type=st.sampled_from(["chat", "normal", "headline", "groupchat"]))
def test_the_text_is_what_the_tree_writes(bodies: dict[str, str], subjects: dict[str, str], recipient: JID,
                                          message_type: str) -> None:
    message = ChatMessage("0123abcd", 0.0, ME, recipient, bodies, subjects, message_type, origin_id="0123abcd")
    assert _on_the_wire(message_xml(message)) == _on_the_wire(build_message_element(message))


def test_an_escaped_body_reads_back_as_written() -> None:
    message = ChatMessage("u1", 0.0, ME, RECIPIENTS[1], {"": "a < b & c > 'd' \"e\"", "fr": "]]>"}, {"": "s"}, "chat")
    text = message_xml(message)
    assert text == (
        "<message to='bob@localhost/a&apos;b&amp;c&lt;d&gt;&quot;e' type='chat' id='u1'>"
        "<subject>s</subject><body>a &lt; b &amp; c &gt; 'd' \"e\"</body><body xml:lang='fr'>]]&gt;</body>"
        "<origin-id xmlns='urn:xmpp:sid:0' id='u1'/></message>"
    )
