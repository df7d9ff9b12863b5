"""``sat pubsub node config|affiliations|subscriptions`` (owner, XEP-0060 §8) and
``sat pubsub subscriptions|affiliations`` (our own); parsers added by :mod:`.pubsub`."""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from sat_bridge.client import AsyncBridgeClient
from sat_frontends.cli.commands import command
from sat_frontends.cli.output import Output


async def config_get(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    config = json.loads(await client.ps_node_configuration_get(args.service, args.node, args.profile,
                                                               timeout=args.timeout))
    return show_configuration(config, output, "the node has no configuration field")


def show_configuration(config: dict[str, Any], output: Output, empty: str) -> int:
    """A configuration form as the bridge gives it (``{"values", "fields"}``): the JSON
    itself, or a table of fields, values and labels (rooms use it too)."""
    if output.json:
        output.value(config)
        return 0
    rows = [{"field": name, "value": value, "label": config["fields"].get(name, {}).get("label") or None}
            for name, value in config["values"].items()]
    output.table(rows, ["field", "value", "label"], empty=empty)
    return 0


def field_values(pairs: list[list[str]]) -> dict[str, Any]:
    """``-f FIELD VALUE`` pairs as options: a field given several times gets a list."""
    options: dict[str, Any] = {}
    for name, value in pairs:
        if name in options:
            previous = options[name]
            options[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            options[name] = value
    return options


async def config_set(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.ps_node_configuration_set(args.service, args.node, json.dumps(field_values(args.field)),
                                           args.profile, timeout=args.timeout)
    output.done(f"node {args.node} configured")
    return 0


def _show_affiliations(affiliations: dict[str, str], key: str, output: Output) -> int:
    """``{jid or node: affiliation}``: the object itself in JSON, a sorted table in text."""
    if output.json:
        output.value(affiliations)
    else:
        output.table([{key: name, "affiliation": value} for name, value in sorted(affiliations.items())],
                     [key, "affiliation"], empty="no affiliation")
    return 0


async def affiliations_get(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    affiliations = await client.ps_node_affiliations_get(args.service, args.node, args.profile, timeout=args.timeout)
    return _show_affiliations(affiliations, "jid", output)


async def affiliations_set(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.ps_node_affiliations_set(args.service, args.node, dict(args.affiliation), args.profile,
                                          timeout=args.timeout)
    output.done(f"affiliations of {args.node} changed")
    return 0


async def node_subscriptions(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    subscriptions = json.loads(await client.ps_node_subscriptions_get(args.service, args.node, args.profile,
                                                                      timeout=args.timeout))
    output.table(subscriptions, ["jid", "subscription", "subid"], empty="no subscriber")
    return 0


async def own_subscriptions(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    subscriptions = json.loads(await client.ps_subscriptions_get(args.service, args.node, args.profile,
                                                                 timeout=args.timeout))
    output.table(subscriptions, ["node", "jid", "subscription", "subid"], empty="no subscription")
    return 0


async def own_affiliations(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    affiliations = await client.ps_affiliations_get(args.service, args.node, args.profile, timeout=args.timeout)
    return _show_affiliations(affiliations, "node", output)


#: ``-s``/``-n``/``-p`` of :mod:`.pubsub` (``target(parser, node_required)``), passed in to share it
Target = Callable[[argparse.ArgumentParser, bool], None]


def register_node_owner(node_actions: Any, target: Target) -> None:
    """``config``, ``affiliations`` and ``subscriptions`` under ``sat pubsub node``."""
    config = node_actions.add_parser("config", help="read or change a node's configuration (owner)")
    config_actions = config.add_subparsers(dest="config_action", required=True, metavar="ACTION")
    target(command(config_actions, "get", config_get, "show the node's configuration"), True)
    set_ = command(config_actions, "set", config_set, "change configuration fields")
    target(set_, True)
    set_.add_argument("-f", "--field", nargs=2, action="append", required=True, metavar=("FIELD", "VALUE"),
                      help="field to set (repeatable; a field given twice gets a list of values)")
    affiliations = node_actions.add_parser("affiliations", help="read or change affiliations with a node (owner)")
    affiliation_actions = affiliations.add_subparsers(dest="affiliations_action", required=True, metavar="ACTION")
    target(command(affiliation_actions, "get", affiliations_get, "show every affiliated entity"), True)
    change = command(affiliation_actions, "set", affiliations_set, "change affiliations (none removes one)")
    target(change, True)
    change.add_argument("-a", "--affiliation", nargs=2, action="append", required=True,
                        metavar=("JID", "AFFILIATION"), help="owner, publisher, publish-only, member, outcast or none")
    target(command(node_actions, "subscriptions", node_subscriptions, "show every subscription to a node (owner)"),
           True)


def register_own(actions: Any, target: Target) -> None:
    """``subscriptions`` and ``affiliations`` under ``sat pubsub``: our own, on a service."""
    for name, handler in (("subscriptions", own_subscriptions), ("affiliations", own_affiliations)):
        parser = command(actions, name, handler, f"your {name} on a service")
        target(parser, False)
        parser.add_argument("-n", "--node", default="", help="only this node (default: every node)")
