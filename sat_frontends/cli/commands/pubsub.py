"""``sat pubsub …`` (nodes, items, subscriptions, the cache) and ``sat blog …``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument
from sat_frontends.cli.commands import add_profile_option, command, pubsub_cache, pubsub_owner
from sat_frontends.cli.output import Output


def _items_extra(args: argparse.Namespace) -> str:
    extra: dict[str, Any] = {}
    if getattr(args, "no_cache", False):
        extra["use_cache"] = False
    if getattr(args, "after", None):
        extra["rsm_after"] = args.after
    if getattr(args, "page_size", None):
        extra["rsm_max"] = args.page_size
    return json.dumps(extra)


def _show_items(result: dict[str, Any], output: Output) -> None:
    if output.json:
        output.value(result)
        return
    for xml in result["items"]:
        output.value(xml)
    origin = "cache" if result.get("cached") else "service"
    completeness = "complete" if result.get("complete") else "partial"
    print(f"({len(result['items'])} item(s) from the {origin}, {completeness})", file=output.err)


async def get_items(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    call = client.ps_cache_get if args.cache_only else client.ps_items_get
    result = json.loads(await call(args.service, args.node, args.max, args.item or [], "", _items_extra(args),
                                   args.profile, timeout=args.timeout))
    _show_items(result, output)
    return 0


async def set_item(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    payload = sys.stdin.read() if args.payload == "-" else args.payload
    item_id = await client.ps_item_send(args.service, args.node, payload, args.item_id or "", "{}", args.profile,
                                        timeout=args.timeout)
    output.value({"item_id": item_id} if output.json else item_id)
    return 0


async def delete_item(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.ps_item_retract(args.service, args.node, args.item_id, not args.quiet, args.profile,
                                 timeout=args.timeout)
    output.done(f"item {args.item_id} retracted")
    return 0


async def node_action(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    if args.node_action == "create":
        options = {"pubsub#max_items": "max"} if args.keep_all else {}
        name = await client.ps_node_create(args.service, args.node, json.dumps(options), args.profile,
                                           timeout=args.timeout)
        output.value({"node": name} if output.json else name)
        return 0
    call = {"purge": client.ps_node_purge, "delete": client.ps_node_delete}[args.node_action]
    await call(args.service, args.node, args.profile, timeout=args.timeout)
    output.done(f"node {args.node} {args.node_action}d")
    return 0


async def subscription(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    if args.subscribe:
        sub_id = await client.ps_subscribe(args.service, args.node, "{}", args.profile, timeout=args.timeout)
        output.value({"subscription_id": sub_id} if output.json else f"subscribed {sub_id}".strip())
    else:
        await client.ps_unsubscribe(args.service, args.node, args.profile, timeout=args.timeout)
        output.done("unsubscribed")
    return 0


async def blog_get(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    result = json.loads(await client.mb_get(args.service, args.node, args.max, [], _items_extra(args), args.profile,
                                            timeout=args.timeout))
    if output.json:
        output.value(result)
        return 0
    if not result["items"]:
        output.note("no posts")
    for post in result["items"]:
        tags = f"  [{', '.join(post['tags'])}]" if post.get("tags") else ""
        output.value(f"# {post.get('title', '')}  ({post.get('published', '')}, id {post.get('item_id', '')}){tags}")
        if post.get("content"):
            output.value(post["content"])
        if post.get("comments_node"):
            output.value(f"comments: -s {post['comments_service']} -n {post['comments_node']}")
        output.value("")
    return 0


async def blog_set(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    content = " ".join(args.content) if args.content else sys.stdin.read().strip()
    if not (content or args.title):
        raise InvalidArgument("give a title or a content (arguments or stdin)")
    data = {"title": args.title or "", "content": content, "tags": args.tag or []}
    if args.comments:
        data["comments"] = True  # the backend creates the post's comments node
    item_id = await client.mb_send(args.service, args.node, json.dumps(data), args.profile, timeout=args.timeout)
    output.value({"item_id": item_id} if output.json else item_id)
    return 0


async def blog_delete(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.mb_retract(args.service, args.node, args.item_id, args.profile, timeout=args.timeout)
    output.done(f"post {args.item_id} deleted")
    return 0


def _target(parser: argparse.ArgumentParser, node_required: bool = True) -> None:
    parser.add_argument("-s", "--service", default="", help="pubsub service JID (default: your PEP service)")
    if node_required:
        parser.add_argument("-n", "--node", required=True, help="node name")
    add_profile_option(parser)


def _items_options(parser: argparse.ArgumentParser) -> None:
    """Which items to read (``get_items``): ``sat pubsub get`` and ``sat pubsub cache get``."""
    _target(parser)
    parser.add_argument("-m", "--max", type=int, default=0, help="at most N most recent items (0: all)")
    parser.add_argument("-i", "--item", action="append", help="only this item id (repeatable)")
    parser.add_argument("--after", help="RSM: items after this id")
    parser.add_argument("--page-size", type=int, help="RSM page size")


def register(subparsers: Any) -> None:
    pubsub = subparsers.add_parser("pubsub", help="publish-subscribe nodes and items")
    actions = pubsub.add_subparsers(dest="action", required=True, metavar="ACTION")
    get = command(actions, "get", get_items, "read items (from the cache when the node is cached)")
    _items_options(get)
    get.add_argument("--no-cache", action="store_true", help="ask the service, not the cache")
    get.add_argument("--cache-only", action="store_true", help="read the cache only (error if not cached)")
    set_ = command(actions, "set", set_item, "publish an item (payload XML, or - for stdin)")
    _target(set_)
    set_.add_argument("payload", help="the item's XML payload, or - to read it from stdin")
    set_.add_argument("-i", "--item-id", help="item id (default: chosen by the service)")
    delete = command(actions, "delete", delete_item, "retract an item")
    _target(delete)
    delete.add_argument("item_id", help="id of the item to retract")
    delete.add_argument("--quiet", action="store_true", help="do not notify subscribers")
    node = actions.add_parser("node", help="create, purge, delete or administer a node")
    node_actions = node.add_subparsers(dest="node_action", required=True, metavar="ACTION")
    for name, help_text in (("create", "create a node"), ("purge", "remove every item of a node"),
                            ("delete", "delete a node")):
        node_parser = command(node_actions, name, node_action, help_text)
        _target(node_parser)
        if name == "create":
            node_parser.add_argument("--keep-all", action="store_true", help="keep every item (max_items=max)")
    pubsub_owner.register_node_owner(node_actions, _target)
    pubsub_owner.register_own(actions, _target)
    for name, subscribe in (("subscribe", True), ("unsubscribe", False)):
        sub = command(actions, name, subscription, f"{name} to a node's notifications")
        sub.set_defaults(subscribe=subscribe)
        _target(sub)
    pubsub_cache.register(actions, _target, get_items, _items_options)

    blog = subparsers.add_parser("blog", help="microblogging (XEP-0277)")
    blog_actions = blog.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, handler, help_text in (("get", blog_get, "read blog posts"), ("set", blog_set, "publish a post"),
                                     ("delete", blog_delete, "delete a post")):
        parser = command(blog_actions, name, handler, help_text)
        parser.add_argument("-s", "--service", default="", help="blog owner's JID (default: yours)")
        parser.add_argument("-n", "--node", default="", help="node (default: urn:xmpp:microblog:0)")
        add_profile_option(parser)
        if name == "get":
            parser.add_argument("-m", "--max", type=int, default=10, help="most recent N posts (0: all)")
            parser.add_argument("--no-cache", action="store_true", help="ask the service, not the cache")
        elif name == "set":
            parser.add_argument("content", nargs="*", help="text (default: stdin)")
            parser.add_argument("-t", "--title", help="title of the post")
            parser.add_argument("--tag", action="append", help="tag (category) of the post (repeatable)")
            parser.add_argument("--comments", action="store_true", help="open a comments node for the post")
        else:
            parser.add_argument("item_id", help="id of the post (see sat blog get)")
