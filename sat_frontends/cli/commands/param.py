"""``sat param get|set|list``: read and change the backend's parameters."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument
from sat_frontends.cli.commands import add_profile_option, command
from sat_frontends.cli.output import Output
from sat_frontends.cli.prompts import read_first_line

LIST_COLUMNS = ["category", "name", "type", "value", "default"]


async def get_param(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    output.value(await client.param_get(args.category, args.name, args.profile, timeout=args.timeout))
    return 0


async def set_param(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    if args.value_stdin == (args.value is not None):
        raise InvalidArgument("give the value either as an argument or with --value-stdin")
    value = read_first_line() if args.value_stdin else args.value
    await client.param_set(args.category, args.name, value, args.profile, timeout=args.timeout)
    output.done(f"{args.category}/{args.name} set")
    return 0


async def list_params(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    params = json.loads(await client.params_list(args.profile, timeout=args.timeout))
    output.table(params, LIST_COLUMNS)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("param", help="read and change parameters")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    get = command(actions, "get", get_param, "print the value of a param (its default when unset)")
    get.add_argument("category")
    get.add_argument("name")
    add_profile_option(get)

    set_ = command(actions, "set", set_param, "change a param (validated by the backend)")
    set_.add_argument("category")
    set_.add_argument("name")
    set_.add_argument("value", nargs="?", help="new value")
    set_.add_argument(
        "--value-stdin", action="store_true",
        help="read the value from the first line of stdin (for passwords: argv is public)",
    )
    add_profile_option(set_)

    list_ = command(actions, "list", list_params, "list every param with its value")
    add_profile_option(list_)
