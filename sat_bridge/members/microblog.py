"""Microblog members (XEP-0277), on the plugin interface; names from the contract."""

from __future__ import annotations

from sat_bridge.members.core import IDENTIFIER_LENGTH, JID_LENGTH, PROFILE
from sat_bridge.spec import Arg, Member, Method

BLOG_SERVICE = Arg("service", "s", '``""`` = the profile\'s own PEP service', max_length=JID_LENGTH)
BLOG_NODE = Arg("node", "s", '``""`` = ``urn:xmpp:microblog:0``', max_length=IDENTIFIER_LENGTH)

MICROBLOG_MEMBERS: tuple[Member, ...] = (
    Method("MbSend", "plugin",
           (BLOG_SERVICE, BLOG_NODE,
            Arg("data_json", "s", "JSON object: ``title``, ``content``, ``content_xhtml`` (sanitised), "
                "``tags`` (list), ``id``, ``comments`` (``true``: create the post's comments node "
                "``urn:xmpp:microblog:0:comments/<item id>``, open to all, on your PEP service or "
                "``comments_service``, named ``comments_node`` if given; a string: the ``xmpp:`` URI of an "
                "existing node)", content=True), PROFILE),
           "s", "Publish a blog post (an Atom entry).", out_doc="item id"),
    Method("MbGet", "plugin",
           (BLOG_SERVICE, BLOG_NODE, Arg("max_items", "i", "0 = all"), Arg("item_ids", "as", "only these", max_length=IDENTIFIER_LENGTH),
            Arg("extra_json", "s", "as PsItemsGet"), PROFILE),
           "s",
           'Blog posts as JSON ``{"items": [{"item_id", "id", "title", "content", "content_xhtml"?, '
           '"author" {"name", "uri", "jid"}?, "published", "updated" (RFC 3339, "" if missing or invalid), '
           '"tags", "comments"?, "comments_service"?, "comments_node"?}], "rsm", "complete", "cached"}``; '
           'items that are not Atom entries, or nested deeper than 256 levels, are skipped (and logged); '
           'a blog node that does not exist (a contact who never published) is an empty blog.'),
    Method("MbRetract", "plugin", (BLOG_SERVICE, BLOG_NODE, Arg("item_id", "s", "post to delete", max_length=IDENTIFIER_LENGTH), PROFILE),
           "", "Delete a blog post."),
)
