"""``sat monitor``: print every bridge signal as it arrives (debugging, scripting)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.spec import Signal
from sat_frontends.cli.checks import require_profiles
from sat_frontends.cli.commands import command
from sat_frontends.cli.output import Output


def signal_record(signal: Signal, args: tuple[Any, ...]) -> dict[str, Any]:
    """A signal as a JSON-ready object, its arguments by name (JSON strings decoded)."""
    named: dict[str, Any] = {}
    for spec_arg, value in zip(signal.args, args):
        if spec_arg.name.endswith("_json") and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        named[spec_arg.name] = value
    return {"signal": signal.name, "args": named}


def has_profile(signal: Signal) -> bool:
    """Signals about one profile carry its name as their last argument."""
    return bool(signal.args) and signal.args[-1].name == "profile"


def select_signals(
    signals: list[Signal], wanted: set[str], profiles: set[str]
) -> tuple[list[Signal], set[str]]:
    """The signals to listen to, and the wanted names that are unknown.

    With a profile filter, signals without a profile argument are left out: they can
    never match it.
    """
    known = {s.name for s in signals}
    selected = [
        s for s in signals
        if (not wanted or s.name in wanted) and (not profiles or has_profile(s))
    ]
    return selected, wanted - known


def profile_matches(signal: Signal, values: tuple[Any, ...], profiles: set[str]) -> bool:
    """True when the signal is to be shown under the ``-p`` filter (none: everything)."""
    if not profiles:
        return True
    if not has_profile(signal) or len(values) != len(signal.args):
        return False
    return values[-1] in profiles


def positive_integer(text: str) -> int:
    """argparse type of ``--count``: 0 or less would never stop, so it is a usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:20]!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more (leave --count out to run until Ctrl-C)")
    return value


def signal_line(record: dict[str, Any]) -> str:
    shown = ", ".join(f"{name}={json.dumps(value, ensure_ascii=False)}" for name, value in record["args"].items())
    return f"{record['signal']}({shown})"


async def monitor(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    wanted = set(args.signal or [])
    profiles = set(args.profile or [])
    await require_profiles(client, sorted(profiles), args.timeout)
    signals, unknown = select_signals(client.spec.signals(), wanted, profiles)
    if unknown:
        output.error("InvalidArgument", f"unknown signal(s): {', '.join(sorted(unknown))}")
        return 10
    if not signals:
        output.error("InvalidArgument", "none of these signals has a profile argument to filter on")
        return 10
    done = asyncio.Event()
    seen = 0

    def make_callback(signal: Signal) -> Any:
        def on_signal(*values: Any) -> None:
            nonlocal seen
            if not profile_matches(signal, values, profiles):
                return
            record = signal_record(signal, values)
            output.value(record if output.json else signal_line(record))
            output.out.flush()
            seen += 1
            if args.count is not None and seen >= args.count:
                done.set()

        return on_signal

    for signal in signals:
        await client.on_signal(signal.name, make_callback(signal))
    print(f"monitoring {len(signals)} signal(s); Ctrl-C to stop", file=sys.stderr, flush=True)
    await done.wait()
    return 0


def register(subparsers: Any) -> None:
    parser = command(subparsers, "monitor", monitor, "print bridge signals as they arrive")
    parser.add_argument("--signal", action="append", help="only this signal (repeatable)")
    parser.add_argument("--count", type=positive_integer, metavar="N",
                        help="exit after N signals, N ≥ 1 (default: run until Ctrl-C)")
    parser.add_argument(
        "-p", "--profile", action="append",
        help="only signals about this profile (repeatable; signals without a profile are not shown)",
    )
