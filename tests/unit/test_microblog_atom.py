"""Atom entries and XHTML sanitising (XEP-0277), including hostile input."""

from __future__ import annotations

from datetime import datetime

import pytest
from lxml import etree

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.plugins.microblog.atom import A, NS_ATOM, build_entry, parse_entry
from sat_backend.plugins.microblog.comments import (
    CommentsNode, comments_node_name, parse_comments_uri, requested_comments, split_xmpp_uri,
)
from sat_backend.plugins.microblog.xhtml import NS_XHTML

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
    assert parsed["author"] == {"name": "Louise", "uri": "xmpp:louise@example.org", "jid": "louise@example.org"}
    assert parsed["comments"].startswith("xmpp:pubsub.example.org")
    assert parsed["comments_service"] == "pubsub.example.org"
    assert parsed["comments_node"] == "urn:xmpp:microblog:0:comments/x"
    assert parsed["item_id"] == "i1" and parsed["updated"] == "2024-01-02T10:00:00Z"
    assert parsed["content"] == "Hi\n\nkept text"  # the text of the sanitised XHTML, markup gone
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


def test_build_then_parse_keeps_every_field() -> None:
    data = {
        "id": "post-1", "title": "Title", "content": "plain text", "tags": ["one", "two"],
        "content_xhtml": "<p>Rich <em>text</em><script>steal()</script><a href='javascript:x()'>a</a>"
                         "<a href='https://example.org/'>b</a></p>",
        "comments": "xmpp:alice@example.org?;node=urn%3Axmpp%3Amicroblog%3A0%3Acomments%2Fpost-1",
    }
    entry = build_entry(data, "alice@example.org")
    item = etree.Element("{http://jabber.org/protocol/pubsub}item", id="post-1")
    item.append(entry)
    parsed = parse_entry(etree.tostring(item))
    assert parsed["item_id"] == "post-1" and parsed["id"] == "post-1"
    assert parsed["title"] == "Title" and parsed["content"] == "plain text"
    assert parsed["tags"] == ["one", "two"]
    assert parsed["author"] == {"name": "alice", "uri": "xmpp:alice@example.org", "jid": "alice@example.org"}
    assert parsed["published"] == parsed["updated"]
    assert datetime.fromisoformat(parsed["published"].replace("Z", "+00:00")).tzinfo is not None
    assert parsed["comments"] == data["comments"]
    assert (parsed["comments_service"], parsed["comments_node"]) == ("alice@example.org",
                                                                    "urn:xmpp:microblog:0:comments/post-1")
    xhtml = parsed["content_xhtml"]
    assert "<em>text</em>" in xhtml and 'href="https://example.org/"' in xhtml
    assert "script" not in xhtml and "steal" not in xhtml and "javascript" not in xhtml
    # what the entry says on the wire (XEP-0277 §3.1)
    assert entry.find(f"{A}link").attrib == {"rel": "replies", "title": "comments", "href": data["comments"]}
    assert [c.get("term") for c in entry.findall(f"{A}category")] == ["one", "two"]
    assert {c.get("type") for c in entry.findall(f"{A}content")} == {"text", "xhtml"}


def test_parse_tolerates_missing_fields_and_bad_dates() -> None:
    parsed = parse_entry(f"<entry xmlns='{NS_ATOM}'/>")
    assert parsed == {"id": "", "title": "", "published": "", "updated": "", "tags": [], "content": ""}
    dates = parse_entry(f"<entry xmlns='{NS_ATOM}'><published>yesterday</published>"
                        "<updated>2024-13-45T99:00:00Z</updated></entry>")
    assert dates["published"] == "" and dates["updated"] == ""
    offset = parse_entry(f"<entry xmlns='{NS_ATOM}'><published>2024-05-01T10:00:00+02:00</published></entry>")
    assert offset["published"] == "2024-05-01T10:00:00+02:00"
    no_link_target = parse_entry(f"<entry xmlns='{NS_ATOM}'><link rel='replies' title='comments' "
                                 "href='https://example.org/comments'/></entry>")
    assert no_link_target["comments"] == "https://example.org/comments" and "comments_node" not in no_link_target


def test_xhtml_title_and_text_version_side_by_side() -> None:
    parsed = parse_entry(f"<entry xmlns='{NS_ATOM}'><title type='xhtml'><div xmlns='{NS_XHTML}'>"
                         "<b>Bold</b> title<script>x</script></div></title>"
                         "<content type='xhtml'><div xmlns='{NS_XHTML}'><p>rich</p></div></content>"
                         "<content type='text'>plain</content></entry>".replace("{NS_XHTML}", NS_XHTML))
    assert parsed["title"] == "Bold title"
    assert parsed["content"] == "plain" and "<p>rich</p>" in parsed["content_xhtml"]


@pytest.mark.parametrize(("href", "expected"), [
    ("xmpp:pubsub.example.org?;node=urn%3Axmpp%3Amicroblog%3A0%3Acomments%2Fabc",
     ("pubsub.example.org", "urn:xmpp:microblog:0:comments/abc")),
    ("xmpp:louise@example.org?node=comments", ("louise@example.org", "comments")),
    ("xmpp:pubsub.example.org?;node=n;item=i", ("pubsub.example.org", "n")),
    ("xmpp:pubsub.example.org", None),
    ("https://example.org/?node=x", None),
    ("xmpp:?;node=x", None),
])
def test_comments_uri(href: str, expected: tuple[str, str] | None) -> None:
    assert parse_comments_uri(href) == expected


@pytest.mark.parametrize(("uri", "expected"), [
    ("xmpp:louise@example.org", ("louise@example.org", "")),
    ("xmpp:louise%40example.org?message", ("louise@example.org", "message")),
    ("xmpp:?;node=x", None),
    ("xmpp:", None),
    ("https://example.org/", None),
])
def test_xmpp_uri_split(uri: str, expected: tuple[str, str] | None) -> None:
    """The one reading of an xmpp: URI, for the author's JID and the comments node."""
    assert split_xmpp_uri(uri) == expected


def test_comments_uri_round_trip() -> None:
    node = comments_node_name("a/b c")
    uri = CommentsNode("", node).uri("alice@example.org")
    assert parse_comments_uri(uri) == ("alice@example.org", node)
    assert CommentsNode("pubsub.example.org", "n").uri("alice@example.org") == "xmpp:pubsub.example.org?;node=n"


def test_requested_comments() -> None:
    assert requested_comments({}, "i") is None
    assert requested_comments({"comments": False}, "i") is None
    assert requested_comments({"comments": "xmpp:x?;node=y"}, "i") is None  # links an existing node
    assert requested_comments({"comments": True}, "i") == CommentsNode("", "urn:xmpp:microblog:0:comments/i")
    assert requested_comments({"comments_service": "pubsub.example.org"}, "i") == CommentsNode(
        "pubsub.example.org", "urn:xmpp:microblog:0:comments/i")
    assert requested_comments({"comments_node": "mine"}, "i") == CommentsNode("", "mine")
    for bad in ({"comments": 1}, {"comments_node": 2}, {"comments_service": "not a jid@@"},
                {"comments": "xmpp:x?;node=y", "comments_service": "pubsub.example.org"}):
        with pytest.raises(InvalidArgument):
            requested_comments(bad, "i")
