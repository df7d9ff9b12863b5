"""``sat connect`` / ``sat disconnect``: open and close a profile's XMPP session."""

from __future__ import annotations

import argparse
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_frontends.cli.commands import add_profile_option, command
from sat_frontends.cli.output import Output


async def connect(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    opened = await client.connect(args.profile, timeout=args.timeout)
    if output.json:
        output.value({"connected": True, "new_session": opened})
    else:
        output.value("connected" if opened else "already connected")
    return 0


async def disconnect(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.disconnect(args.profile, timeout=args.timeout)
    output.done("disconnected")
    return 0


def register(subparsers: Any) -> None:
    add_profile_option(command(subparsers, "connect", connect, "connect a profile to its XMPP server"))
    add_profile_option(command(subparsers, "disconnect", disconnect, "disconnect a profile"))
