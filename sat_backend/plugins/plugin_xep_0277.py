"""XEP-0277 Microblogging over XMPP (v0.6): blog posts as Atom entries in pubsub.

Registers the pubsub cache's blog analysers: nodes named ``urn:xmpp:microblog:0…`` with
Atom payloads (or none yet) are synchronised, comments nodes with the subtype ``comment``,
and each item's parsed form (see :mod:`sat_backend.plugins.microblog.atom`) is stored
beside its raw XML. We advertise ``urn:xmpp:microblog:0+notify`` (XEP-0163 §4): PEP
services send our contacts' posts only to clients whose caps ask for them.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from twisted.words.xish import domish

from sat_backend.core.domish_serializer import element_xml
from sat_backend.core.exceptions import InvalidArgument, Stanza
from sat_backend.core.json_arguments import parse_json_object
from sat_backend.core.xml_payloads import MAX_XML_DEPTH, deeper_than, etree
from sat_backend.plugins.microblog.atom import NS_ATOM, PARSER_VERSION, build_entry, parse_entry
from sat_backend.plugins.microblog.comments import (
    COMMENTS_KEYS, COMMENTS_NODE_OPTIONS, COMMENTS_PREFIX, CommentsNode, requested_comments,
)
from sat_backend.plugins.plugin_xep_0060 import NodeNotFound

if TYPE_CHECKING:
    from sat_backend.core.host import Backend

log = logging.getLogger(__name__)

NS_MICROBLOG = "urn:xmpp:microblog:0"
#: the cache analysers registered here, whose stored parsed data is ``parse_entry``'s
ANALYSERS = ("XEP-0277 comments", "XEP-0277")
BLOG_NODE_OPTIONS = {"pubsub#max_items": "max"}
#: how a service that does not take a field as publish option says so (XEP-0060 §7.1.5 has
#: precondition-not-met for a mismatch; ejabberd 23 answers resource-constraint "Unknown field")
PUBLISH_OPTIONS_REFUSED = ("resource-constraint", "not-acceptable", "bad-request", "feature-not-implemented")

PLUGIN_INFO = {
    "name": "Microblogging",
    "import_name": "XEP-0277",
    "type": "XEP",
    "protocols": ["XEP-0277"],
    "dependencies": ["XEP-0060", "XEP-0030"],
    "recommendations": ["PUBSUB_CACHE"],
    "main": "Microblog",
    "description": "Blog posts (Atom entries) on PEP and pubsub nodes",
}


def parse_item(item: domish.Element) -> dict[str, Any]:
    """The cache's parser: an ``<item/>`` holding an Atom entry → its parsed dict.

    :raises ValueError: not an Atom entry, or nested deeper than :data:`MAX_XML_DEPTH`
        (not serialised nor parsed: the cache keeps it raw).
    """
    if deeper_than(item):
        raise ValueError(f"item nested deeper than {MAX_XML_DEPTH} levels")
    return parse_entry(element_xml(item))


def atom_or_empty(node: str, namespace: str | None) -> bool:
    """A blog node holds Atom entries; an empty one (no namespace seen yet) is a blog too,
    or a blog first read empty would never be cached."""
    return namespace in (None, NS_ATOM)


class Microblog:
    def __init__(self, host: Backend) -> None:
        self.host = host
        self.pubsub = host.plugins["XEP-0060"]

    async def initialise(self) -> None:
        self.host.plugins["XEP-0030"].add_feature(f"{NS_MICROBLOG}+notify")
        cache = self.host.plugins.get("PUBSUB_CACHE")
        if cache is not None:
            # comments nodes share the blog prefix: their analyser comes first
            cache.register_analyser(ANALYSERS[0], "blog", subtype="comment", node=COMMENTS_PREFIX,
                                    match_cb=atom_or_empty, to_sync=True, parser=parse_item, priority=1,
                                    parser_version=PARSER_VERSION)
            cache.register_analyser(ANALYSERS[1], "blog", node=NS_MICROBLOG, match_cb=atom_or_empty, to_sync=True,
                                    parser=parse_item, parser_version=PARSER_VERSION)
        register = self.host.bridge.register_method
        register("MbSend", self.send)
        register("MbGet", self.get)
        register("MbRetract", self.retract)

    async def send(self, service: str, node: str, data_json: str, profile: str) -> str:
        """Publish a post; with ``comments`` asked, its comments node is created first (so
        that the post never links to a node that does not exist)."""
        # every string of it, keys included, is checked against XML 1.0 as it is decoded
        data = parse_json_object(data_json, "data_json")
        item_id = data.get("id") or ""
        if not isinstance(item_id, str):
            raise InvalidArgument("id must be a string")
        # the post's item id names its comments node (XEP-0277 §4.1): chosen here if needed
        candidate_id = item_id or uuid.uuid4().hex
        comments = requested_comments(data, candidate_id)
        entry_data = {key: value for key, value in data.items() if key not in COMMENTS_KEYS}
        if isinstance(data.get("comments"), str):
            entry_data["comments"] = data["comments"]  # a link to an existing node
        resolved = await self.host.profiles.resolve(profile)
        client = self.host.sessions.get_client(resolved)
        own_jid = client.jid.userhost()
        if comments is not None:
            item_id = candidate_id
            entry_data["comments"] = comments.uri(own_jid)
        entry = build_entry(entry_data, own_jid)
        if comments is not None:
            await self._create_comments_node(comments, resolved)
        payload = etree.tostring(entry, encoding="unicode")
        node = node or NS_MICROBLOG
        try:
            # a blog keeps every post (PEP nodes default to a single item)
            return str(await self.pubsub.item_send(service, node, payload, item_id,
                                                   json.dumps({"publish_options": BLOG_NODE_OPTIONS}), profile))
        except Stanza as exc:
            condition = str(exc).split(":", 1)[0]
            if condition in PUBLISH_OPTIONS_REFUSED:
                await self._create_blog_node(service, node, resolved)
            elif condition not in ("precondition-not-met", "conflict"):
                raise
            else:
                # the node exists with another configuration (XEP-0060 §7.1.5): publish as it is
                log.info("%s: blog node configured differently, publishing without options", profile)
            return str(await self.pubsub.item_send(service, node, payload, item_id, "{}", profile))

    async def _create_blog_node(self, service: str, node: str, profile: str) -> None:
        """For a service that refuses ``pubsub#max_items`` as a publish option (ejabberd 23:
        "Unknown field"): configure it at creation instead; an existing node is kept as it is."""
        log.info("%s: publish-options refused, creating the blog node with its configuration", profile)
        try:
            await self.pubsub.node_create(service, node, json.dumps(BLOG_NODE_OPTIONS), profile)
        except Stanza as exc:
            if not str(exc).startswith("conflict"):
                raise

    async def _create_comments_node(self, comments: CommentsNode, profile: str) -> None:
        try:
            await self.pubsub.node_create(comments.service, comments.node, json.dumps(COMMENTS_NODE_OPTIONS), profile)
        except Stanza as exc:
            if not str(exc).startswith("conflict"):
                raise
            log.info("%s: comments node %s exists already: used as it is", profile, comments.node)

    async def get(self, service: str, node: str, max_items: int, item_ids: list[str], extra_json: str,
                  profile: str) -> str:
        request = await self.pubsub.items_request(service, node or NS_MICROBLOG, max_items, item_ids, "",
                                                  extra_json, profile)
        request.want_parsed = True
        try:
            result = await self.pubsub.get_items(request)
        except NodeNotFound:
            # a contact who never published has no blog node: an empty blog, not an error
            log.info("%s: MbGet of %s: no such node, an empty blog", request.profile, request.node)
            return json.dumps({"items": [], "rsm": {}, "complete": not request.item_ids, "cached": False})
        # the cache's answer carries what our parser stored: not parsed again
        stored = result.parsed if result.parser in ANALYSERS and result.parsed is not None else []
        posts, parsed_now = [], 0
        for index, xml in enumerate(result.items):
            post = stored[index] if index < len(stored) else None
            if not isinstance(post, dict):  # a service's answer, or its parse failed at ingest
                parsed_now += 1
                try:
                    post = parse_entry(xml)
                except (ValueError, etree.XMLSyntaxError) as exc:
                    log.warning("%s: skipped a malformed blog item: %s", request.profile, exc)
                    continue
            posts.append(post)
        log.info("%s: MbGet of %s: %d item(s), %d parsed now, the others as the cache stored them",
                 request.profile, request.node, len(result.items), parsed_now)
        return json.dumps({"items": posts, "rsm": result.rsm, "complete": result.complete, "cached": result.cached})

    async def retract(self, service: str, node: str, item_id: str, profile: str) -> None:
        if not item_id:
            raise InvalidArgument("item_id is empty")
        await self.pubsub.item_retract(service, node or NS_MICROBLOG, item_id, True, profile)

