"""``sat version``: versions of the running backend and of this CLI."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_frontends.cli.commands import command
from sat_frontends.cli.output import Output


def _cli_version() -> str:
    try:
        return version("sat")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


async def show_version(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    backend_version = await client.get_version(timeout=args.timeout)
    if output.json:
        output.value({"backend": backend_version, "cli": _cli_version()})
    else:
        output.value(f"SàT backend {backend_version} (sat CLI {_cli_version()})")
    return 0


def register(subparsers: Any) -> None:
    command(subparsers, "version", show_version, "show the version of the running backend")
