"""Sub-commands of ``sat``: each module adds its parsers with ``register(subparsers)``.

A handler is ``async def handler(client, args, output) -> int`` (the exit code); bridge
errors it lets through are turned into exit codes by :mod:`sat_frontends.cli.main`.
"""

from __future__ import annotations

import argparse
from typing import Any, Awaitable, Callable

from sat_bridge.client import AsyncBridgeClient
from sat_frontends.cli.output import Output

Handler = Callable[[AsyncBridgeClient, argparse.Namespace, Output], Awaitable[int]]
Subparsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """``-p/--profile``, shared by every command that acts on one profile."""
    parser.add_argument(
        "-p", "--profile", default="", help="profile to use (default: the default profile)"
    )


def command(subparsers: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    """Add a sub-command whose work is done by ``handler``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser
