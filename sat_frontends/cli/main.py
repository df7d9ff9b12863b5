"""Entry point of ``sat``: parse the command line, call the bridge, map errors to exit codes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Sequence

from sat_bridge.client import DEFAULT_TIMEOUT, AsyncBridgeClient, BridgeUnavailable
from sat_bridge.errors import BridgeError
from sat_frontends.cli import exit_codes
from sat_frontends.cli.commands import (
    call,
    debug,
    message,
    monitor,
    muc,
    param,
    profile,
    pubsub,
    roster,
    session,
    version,
)
from sat_frontends.cli.output import Output

COMMAND_MODULES = (version, profile, param, session, roster, message, muc, call, pubsub, monitor, debug)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sat",
        description="Command-line client of SàT. It talks to the backend over D-Bus and "
        "starts it when needed (D-Bus activation).",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage, 3 backend unavailable, 4 no answer from "
        "the backend within --timeout, 10+ typed errors (see the user guide).",
    )
    parser.add_argument("--output", "-O", choices=("text", "json"), default="text",
                        help="output format (default: text)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds to wait for the backend (default: {DEFAULT_TIMEOUT:g})")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


async def run(args: argparse.Namespace, output: Output) -> int:
    client = await AsyncBridgeClient.open_bus()
    try:
        code: int = await args.handler(client, args, output)
        return code
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    output = Output(args.output)
    try:
        return asyncio.run(run(args, output))
    except BridgeUnavailable as error:
        if not isinstance(error.__cause__, TimeoutError):
            output.error(error.name, error.message or error.name)
            return exit_codes.UNAVAILABLE
        # the bus routed the call, so the backend is there: it is busy, not missing
        output.error("NoAnswer", f"no answer from the backend within {args.timeout:g} s (--timeout): "
                     "it is running and may still finish the command; give a longer --timeout to wait")
        return exit_codes.NO_ANSWER
    except BridgeError as error:
        output.error(error.name, error.message or error.name)
        return exit_codes.for_error(error)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sat … | head`: the reader went away, nothing to report
        sys.stderr.close()
        return exit_codes.FAILURE


if __name__ == "__main__":
    sys.exit(main())
