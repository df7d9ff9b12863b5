"""``sat param get|set|list``: read and change the backend's parameters."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument
from sat_frontends.cli.commands import add_profile_option, command
from sat_frontends.cli.output import Output
from sat_frontends.cli.prompts import read_first_line, read_secret

LIST_COLUMNS = ["category", "name", "type", "value", "default"]


async def get_param(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    output.value(await client.param_get(args.category, args.name, args.profile, timeout=args.timeout))
    return 0


async def is_password(client: AsyncBridgeClient, args: argparse.Namespace) -> bool:
    """Whether the backend declares this param a password (``ParamsList`` type)."""
    params = json.loads(await client.params_list(args.profile, timeout=args.timeout))
    return any(
        param["category"] == args.category and param["name"] == args.name and param["type"] == "password"
        for param in params
    )


async def set_param(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    if args.value_stdin and args.value is not None:
        raise InvalidArgument("give the value either as an argument or with --value-stdin, not both")
    if await is_password(client, args):
        if args.value is not None:  # never echoed: it is the secret
            raise InvalidArgument(
                f"{args.category}/{args.name} is a password: it is not taken from the command line, "
                "which every user of the machine can read; leave VALUE out to be asked for it, "
                "or pass it on stdin with --value-stdin"
            )
        value = read_secret(f"{args.category}/{args.name}: ", from_stdin=args.value_stdin,
                            stdin_option="--value-stdin")
    elif args.value is not None:
        value = args.value
    elif args.value_stdin:
        value = read_first_line()
    else:
        raise InvalidArgument("give the value as an argument or with --value-stdin")
    await client.param_set(args.category, args.name, value, args.profile, timeout=args.timeout)
    output.done(f"{args.category}/{args.name} set")
    return 0


async def list_params(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    params = json.loads(await client.params_list(args.profile, timeout=args.timeout))
    output.table(params, LIST_COLUMNS, empty="no param")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("param", help="read and change parameters")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    get = command(actions, "get", get_param, "print the value of a param (its default when unset)")
    get.add_argument("category", help="param category, e.g. Connection")
    get.add_argument("name", help="param name, e.g. Port")
    add_profile_option(get)

    set_ = command(actions, "set", set_param, "change a param (validated by the backend)")
    set_.add_argument("category", help="param category, e.g. Connection")
    set_.add_argument("name", help="param name, e.g. Port")
    set_.add_argument("value", nargs="?",
                      help="new value (never for a password: it is asked without echo)")
    set_.add_argument(
        "--value-stdin", "--password-stdin", dest="value_stdin", action="store_true",
        help="read the value from the first line of stdin when it is not a terminal "
        "(at a terminal a password is asked without echo)",
    )
    add_profile_option(set_)

    list_ = command(actions, "list", list_params, "list every param with its value")
    add_profile_option(list_)
