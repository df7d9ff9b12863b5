"""``sat pubsub cache get|sync|purge|reset|search``: the local pubsub cache (parsers added by
:mod:`.pubsub`)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any, Callable

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument
from sat_frontends.cli.checks import require_profiles
from sat_frontends.cli.commands import Handler, command
from sat_frontends.cli.output import Output
from sat_frontends.cli.progress import ProgressLine

#: a sync may take long on a big node: never less than this for the call
SYNC_TIMEOUT = 600.0
PROGRESS_SIGNAL = "PsCacheSyncProgress"
ORDERS = ("creation", "modification", "item_id", "rank")
LIST_OPERATORS = ("in", "not_in", "overlap", "disjoint")


async def cache_sync(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    """Synchronise a node, with a progress line on stderr while the backend reports
    ``PsCacheSyncProgress`` (a backend that does not emit it still syncs: no bar then)."""
    progress = ProgressLine(output.err, f"synchronising {args.node}")

    def on_progress(service: str, node: str, received: int, total: int, profile: str) -> None:
        if node == args.node and (not args.service or service == args.service) and (
                not args.profile or profile == args.profile):
            progress.update(received, total)

    await client.on_signal(PROGRESS_SIGNAL, on_progress)
    try:
        await client.ps_cache_sync(args.service, args.node, args.profile, timeout=max(args.timeout, SYNC_TIMEOUT))
    finally:
        progress.finish()
    output.done("synchronised")
    return 0


async def cache_reset(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.ps_cache_reset(timeout=args.timeout)
    output.done("cache emptied")
    return 0


async def cache_purge(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    filters = purge_filters(args)
    if not filters and not args.all:
        raise InvalidArgument("give at least one filter, or --all to purge every cached item")
    await require_profiles(client, args.profile or [], args.timeout)
    await client.ps_cache_purge(json.dumps(filters), timeout=args.timeout)
    output.done("cached items purged")
    return 0


async def cache_search(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    query = search_query(args)
    await require_profiles(client, args.profile or [], args.timeout)
    results = json.loads(await client.ps_cache_search(json.dumps(query), timeout=args.timeout))
    if output.json:
        output.value(results)
    elif args.payload:
        if not results:
            output.note("no cached item matches")
        for result in results:
            output.value(f"# {result['pubsub_item_id']}  ({result['pubsub_service']} {result['pubsub_node']}, "
                         f"{result['node_profile']})")
            output.value(result.get("item_payload", ""))
    else:
        rows = [{"profile": r["node_profile"], "service": r["pubsub_service"], "node": r["pubsub_node"],
                 "item": r["pubsub_item_id"], "title": r.get("title")} for r in results]
        output.table(rows, ["profile", "service", "node", "item", "title"], empty="no cached item matches")
    return 0


# arguments → JSON ---------------------------------------------------------------------------------


def purge_filters(args: argparse.Namespace) -> dict[str, Any]:
    filters: dict[str, Any] = {key: value for key, value in (
        ("services", args.service), ("nodes", args.node), ("types", args.type), ("subtypes", args.subtype),
        ("profiles", args.profile)) if value}
    for key in ("created_before", "updated_before"):
        if getattr(args, key) is not None:
            filters[key] = getattr(args, key)
    return filters


def search_query(args: argparse.Namespace) -> dict[str, Any]:
    query: dict[str, Any] = {key: value for key, value in (
        ("services", args.service), ("nodes", args.node), ("types", args.type), ("subtypes", args.subtype),
        ("profiles", args.profile), ("names", args.item)) if value}
    if args.fts is not None:
        query["fts"] = args.fts
    if args.filter:
        query["parsed"] = [parsed_filter(path, op, value) for path, op, value in args.filter]
    if args.order_by:
        query["order-by"] = [order_key(key, args.desc) for key in args.order_by]
    if args.index:
        query["index"] = args.index
    if args.limit is not None:
        query["limit"] = args.limit
    if args.payload:
        query["with_payload"] = True
    return query


def parse_path(text: str) -> list[str | int]:
    """``tags``, ``author.name``, ``links.0.href`` (digits are array indexes), or a JSON
    list for keys with dots in them: ``["pubsub#title"]``."""
    if text.startswith("["):
        try:
            path = json.loads(text)
        except ValueError:
            raise InvalidArgument(f"path {text!r} is not a JSON list") from None
        if not isinstance(path, list):
            raise InvalidArgument(f"path {text!r} is not a JSON list")
        return path
    return [int(part) if part.isdigit() else part for part in text.split(".")]


def parse_value(text: str) -> Any:
    """The value of a filter: JSON when it parses (``10``, ``true``, ``["a", "b"]``, ``"10"``),
    else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parsed_filter(path: str, op: str, value: str) -> dict[str, Any]:
    parsed = parse_value(value)
    if op in LIST_OPERATORS and not isinstance(parsed, list):
        parsed = [parsed]  # -F tags overlap sat
    return {"path": parse_path(path), "op": op, "value": parsed}


def order_key(text: str, descending: bool) -> dict[str, Any]:
    """``creation``, ``rank``, a path, each optionally ``:asc`` / ``:desc``; ``--desc``
    makes the keys without a suffix descending."""
    name, _, suffix = text.rpartition(":")
    if suffix in ("asc", "desc") and name:
        text, direction = name, suffix
    else:
        direction = "desc" if descending else ""
    key: dict[str, Any] = {"order": text} if text in ORDERS else {"path": parse_path(text)}
    if direction:
        key["direction"] = direction
    return key


def timestamp(text: str) -> float:
    """Seconds since the epoch, or an ISO 8601 date/time (local time when no zone is given)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a timestamp nor an ISO 8601 date") from None


# parsers ----------------------------------------------------------------------------------------


def _filters(parser: argparse.ArgumentParser) -> None:
    """Repeatable filters shared by purge and search (each given kind must match)."""
    parser.add_argument("-s", "--service", action="append", help="only this service (repeatable)")
    parser.add_argument("-n", "--node", action="append", help="only this node (repeatable)")
    parser.add_argument("-t", "--type", action="append", help="only nodes of this type, e.g. blog (repeatable)")
    parser.add_argument("--subtype", action="append", help="only nodes of this subtype (repeatable)")
    parser.add_argument("-p", "--profile", action="append", help="only this profile's cache (repeatable; "
                                                                  "default: every profile)")


def register(actions: Any, target: Callable[[argparse.ArgumentParser], None], get_items: Handler,
             items_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``cache`` to ``sat pubsub``; ``target`` adds -s/-n/-p, ``get_items`` reads items,
    with the options ``items_options`` adds (as ``sat pubsub get``)."""
    cache = actions.add_parser("cache", help="the local cache of pubsub nodes",
                               description="the local cache of pubsub nodes")
    cache_actions = cache.add_subparsers(dest="cache_action", required=True, metavar="ACTION")
    get = command(cache_actions, "get", get_items, "read items from the cache only (error if the node is not cached)")
    items_options(get)
    get.set_defaults(cache_only=True)
    sync = command(cache_actions, "sync", cache_sync, "synchronise a node now (progress on stderr)")
    target(sync)
    command(cache_actions, "reset", cache_reset, "drop every cached node and item")

    purge = command(cache_actions, "purge", cache_purge,
                    "delete cached items (their nodes are synchronised again before being served)")
    _filters(purge)
    purge.add_argument("--created-before", type=timestamp, metavar="WHEN",
                       help="items cached before WHEN (timestamp or ISO 8601 date)")
    purge.add_argument("--updated-before", type=timestamp, metavar="WHEN",
                       help="items last updated before WHEN (timestamp or ISO 8601 date)")
    purge.add_argument("--all", action="store_true", help="allow a purge without any filter (every item)")

    search = command(cache_actions, "search", cache_search, "search the cached items")
    _filters(search)
    search.add_argument("--fts", metavar="TEXT",
                        help='full-text query: words, "a phrase", word*, -excluded, a OR b')
    search.add_argument("-F", "--filter", nargs=3, action="append", metavar=("PATH", "OP", "VALUE"),
                        help="condition on the parsed data, e.g. -F tags overlap sat, -F title == Hello "
                             "(PATH dotted or a JSON list; VALUE is JSON when it parses; repeatable)")
    search.add_argument("-i", "--item", action="append", help="only this item id (repeatable)")
    search.add_argument("--order-by", action="append", metavar="KEY",
                        help="creation, modification, item_id, rank or a parsed PATH, optionally :asc/:desc "
                             "(repeatable; default: rank with --fts, else newest first)")
    search.add_argument("--desc", action="store_true", help="--order-by keys in descending order")
    search.add_argument("--index", type=int, default=0, help="skip the first N results")
    search.add_argument("--limit", type=int, help="at most N results (default 100, at most 1000)")
    search.add_argument("--payload", action="store_true", help="show the raw XML of each item")
