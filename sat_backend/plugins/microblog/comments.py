"""Comments of blog posts (XEP-0277 §4.1 "Comments"): one pubsub node per post, named
``urn:xmpp:microblog:0:comments/<item id>``, linked from the post by
``<link rel="replies" title="comments" href="xmpp:<service>?;node=<node>"/>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.jids import parse_jid

COMMENTS_PREFIX = "urn:xmpp:microblog:0:comments/"
#: anyone may read and comment (XEP-0277 §4.1: comments are open by default)
COMMENTS_NODE_OPTIONS = {"pubsub#access_model": "open", "pubsub#publish_model": "open", "pubsub#max_items": "max"}
COMMENTS_KEYS = ("comments", "comments_service", "comments_node")


@dataclass(frozen=True)
class CommentsNode:
    """Where the comments of a post live; ``service`` "" is the author's PEP service."""

    service: str
    node: str

    def uri(self, own_jid: str) -> str:
        """The ``xmpp:`` URI of the node (RFC 5122, XEP-0060 §12.22 query)."""
        return f"xmpp:{self.service or own_jid}?;node={quote(self.node, safe='')}"


def comments_node_name(item_id: str) -> str:
    return f"{COMMENTS_PREFIX}{item_id}"


def requested_comments(data: dict[str, Any], item_id: str) -> CommentsNode | None:
    """The comments node ``MbSend`` data asks to create: ``"comments": true``, or an
    explicit ``comments_service`` / ``comments_node``. A string ``comments`` is the URI
    of an existing node (nothing to create).

    :raises InvalidArgument: wrong types, or a bad service JID.
    """
    wanted = data.get("comments")
    service = data.get("comments_service", "")
    node = data.get("comments_node", "")
    if wanted is not None and not isinstance(wanted, (bool, str)):
        raise InvalidArgument("comments must be true, false or an xmpp: URI")
    for key, value in (("comments_service", service), ("comments_node", node)):
        if not isinstance(value, str):
            raise InvalidArgument(f"{key} must be a string")
    if isinstance(wanted, str):
        if service or node:
            raise InvalidArgument("comments is a URI: comments_service and comments_node are not used with it")
        return None
    if wanted is False or (wanted is None and not (service or node)):
        return None
    if service:
        parse_jid(service, "comments_service")
    return CommentsNode(service, node or comments_node_name(item_id))


def split_xmpp_uri(uri: str) -> tuple[str, str] | None:
    """(JID, query) of an ``xmpp:`` URI (RFC 5122), the JID unquoted, the query ("" if
    none) as written; None if it is not one or names no JID."""
    if not uri.startswith("xmpp:"):
        return None
    path, _, query = uri[len("xmpp:"):].partition("?")
    return (unquote(path), query) if path else None


def parse_comments_uri(href: str) -> tuple[str, str] | None:
    """(service, node) of an ``xmpp:service?;node=…`` URI, or None if it is not one."""
    parts = split_xmpp_uri(href)
    if parts is None:
        return None
    service, query = parts
    for part in query.split(";"):
        key, _, value = part.partition("=")
        if key == "node" and value:
            return service, unquote(value)
    return None
