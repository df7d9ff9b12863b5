"""Atom entries and XHTML sanitising (XEP-0277), including hostile input."""

from __future__ import annotations

import pytest
from lxml import etree

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.microblog.atom import build_entry, parse_entry

ENTRY = """<item id='i1' xmlns='http://jabber.org/protocol/pubsub'><entry xmlns='http://www.w3.org/2005/Atom'>
<title type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>A <em>title</em></div></title>
<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'><p onclick='x()'>Hi
<img src='javascript:x()'/><img src='https://example.org/a.png' alt='a'/><style>p{}</style>
<unknown>kept text</unknown></p></div></content>
<author><name>Louise</name><uri>xmpp:louise@example.org</uri></author>
<published>2024-01-01T10:00:00Z</published><updated>2024-01-02T10:00:00Z</updated>
<category term='one'/><category term='two'/>
<link rel='replies' title='comments' href='xmpp:pubsub.example.org?;node=urn%3Axmpp%3Amicroblog%3A0%3Acomments%2Fx'/>
</entry></item>"""


def test_parse_entry() -> None:
    parsed = parse_entry(ENTRY)
    assert parsed["title"] == "A title"
    assert parsed["tags"] == ["one", "two"]
    assert parsed["author"] == {"name": "Louise", "uri": "xmpp:louise@example.org"}
    assert parsed["comments"].startswith("xmpp:pubsub.example.org")
    xhtml = parsed["content_xhtml"]
    assert "onclick" not in xhtml and "javascript" not in xhtml and "style" not in xhtml
    assert "https://example.org/a.png" in xhtml and "kept text" in xhtml
    assert parsed["published"] == "2024-01-01T10:00:00Z"


@pytest.mark.parametrize("hostile", [
    "<!DOCTYPE e [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>]><entry xmlns='http://www.w3.org/2005/Atom'><title>&b;</title></entry>",
    "<!DOCTYPE e [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><entry xmlns='http://www.w3.org/2005/Atom'><title>&x;</title></entry>",
    "<entry xmlns='http://www.w3.org/2005/Atom'><title>unclosed</entry>",
    "<item xmlns='http://jabber.org/protocol/pubsub'><other/></item>",
])
def test_hostile_or_malformed_entries_are_refused(hostile: str) -> None:
    with pytest.raises((ValueError, etree.XMLSyntaxError)):
        parse_entry(hostile)


def test_build_then_parse_round_trip() -> None:
    entry = build_entry({"title": "T", "content": "text", "tags": ["a"], "content_xhtml": "<p>x<script>y</script></p>"},
                        "alice@example.org")
    parsed = parse_entry(etree.tostring(entry))
    assert parsed["title"] == "T" and parsed["tags"] == ["a"]
    assert parsed["author"]["uri"] == "xmpp:alice@example.org"
    assert "script" not in parsed["content_xhtml"]


@pytest.mark.parametrize("data", [{}, {"title": 1}, {"tags": [1]}, {"x": "y"}, {"content_xhtml": "<p>"}])
def test_build_refuses_bad_data(data: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidArgument):
        build_entry(data, "alice@example.org")
