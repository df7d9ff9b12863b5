"""``sat debug bridge METHOD ARGS…``: call any bridge method by name, for debugging.

Arguments are given as strings and converted to the method's D-Bus signature: ``s`` as
is, integers and floats parsed, ``b`` from ``true/false/1/0``, containers as JSON.
Methods declared by plugins the CLI does not know are learnt by introspection.
Arguments the spec marks secret (a password, a param value) are never taken from the
command line: ``-`` in their place asks for them without echo, or reads stdin.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument
from sat_bridge.spec import Arg
from sat_frontends.cli.commands import command
from sat_frontends.cli.output import Output
from sat_frontends.cli.prompts import read_secret

INTEGER_CODES = frozenset("ynqiuxth")
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def convert_argument(text: str, signature: str, name: str) -> Any:
    """Turn the command-line string ``text`` into a value of D-Bus type ``signature``."""
    try:
        if signature in ("s", "o", "g"):
            return text
        if signature in INTEGER_CODES:
            return int(text, 0)
        if signature == "d":
            return float(text)
        if signature == "b":
            return TRUE_WORDS[text.lower()]
        return json.loads(text)
    except (ValueError, KeyError) as exc:
        raise InvalidArgument(f"argument {name!r} must be of D-Bus type {signature!r}: {text!r}") from exc


def argument_value(text: str, arg: Arg) -> Any:
    """The value of one argument; a secret one is read from the user (``-``), never argv.

    :raises InvalidArgument: a secret given on the command line (it is not echoed).
    """
    if not arg.secret:
        return convert_argument(text, arg.signature, arg.name)
    if text != "-":
        raise InvalidArgument(
            f"argument {arg.name!r} is secret and is not taken from the command line, which every "
            "user of the machine can read: write - in its place to be asked for it (or give it on stdin)"
        )
    return convert_argument(read_secret(f"{arg.name}: ", from_stdin=True, stdin_option="-"),
                            arg.signature, arg.name)


async def call_bridge(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    method = await client.find_method(args.method)
    if len(args.arguments) != len(method.args):
        expected = " ".join(arg.name.upper() for arg in method.args) or "no argument"
        raise InvalidArgument(f"{method.name} takes {len(method.args)} arguments: {expected}")
    values = [argument_value(text, arg) for text, arg in zip(args.arguments, method.args)]
    result = await client.call(method.name, *values, timeout=args.timeout)
    if method.out:
        output.value(result)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("debug", help="tools for developers")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    bridge = command(actions, "bridge", call_bridge, "call a bridge method by its D-Bus name")
    bridge.add_argument("method", help="CamelCase method name, e.g. ParamGet")
    bridge.add_argument("arguments", nargs="*", help="arguments, converted to the method's signature; - for a secret one "
                        "(asked without echo, or read from stdin)")
