"""``sat call JID`` and ``sat call answer [JID]``: audio/video calls from the command line,
with the aiortc media engine of :mod:`sat_frontends.calls` (the ``call`` extra).

The call's state changes are printed as they happen; with ``-O json`` one object a line,
``{"event": …, "at_ms": …}``, ``at_ms`` counted from the start of the command."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import time
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument, ProfileNotConnected, ProfileUnknown
from sat_frontends.cli import exit_codes
from sat_frontends.cli.checks import argument_names, require_profiles, shown
from sat_frontends.cli.commands import add_profile_option, command
from sat_frontends.cli.output import Output

#: the word that makes ``sat call`` wait for a call instead of placing one
ANSWER = "answer"
#: exit code of a call hung up by Ctrl-C or SIGTERM (the shell's 128 + SIGINT)
INTERRUPTED = 130


def media_order(audio_only: bool, video_first: bool) -> list[str]:
    """The media kinds to offer, in the offer's order."""
    if audio_only and video_first:
        raise InvalidArgument("--audio-only and --video-first exclude each other")
    if audio_only:
        return ["audio"]
    return ["video", "audio"] if video_first else ["audio", "video"]


def positive_seconds(text: str) -> float:
    """argparse type: a number of seconds above 0 and at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {shown(text)}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("seconds must be above 0 and at most 86400")
    return value


def ip_address(text: str) -> str:
    """argparse type: an IPv4 or IPv6 address, for ``--host-address``."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {shown(text)}") from None


def call_target(args: argparse.Namespace) -> tuple[str, str | None]:
    """``("place", peer)`` or ``("answer", caller or None)`` from the positional words."""
    if args.target == ANSWER:
        if args.audio_only or args.video_first:
            raise InvalidArgument("the caller chooses the media: --audio-only and --video-first go with sat call JID")
        return ANSWER, args.caller
    if args.caller is not None:
        raise InvalidArgument(f"one JID to call; {shown(args.caller)} is one word too many")
    if args.decline or args.wait is not None or args.sid is not None:
        raise InvalidArgument("--decline, --wait and --sid go with sat call answer")
    return "place", args.target


class EventPrinter:
    """Prints the driver's events: a line of text each, or a JSON object with ``at_ms``."""

    def __init__(self, output: Output, started: float) -> None:
        self.output, self.started = output, started
        self.events: list[dict[str, Any]] = []

    def __call__(self, name: str, **fields: Any) -> None:
        record = {"event": name, "at_ms": round((time.monotonic() - self.started) * 1000), **fields}
        self.events.append(record)
        self.output.value(record if self.output.json else describe(record))
        self.output.out.flush()  # a pipe reader sees each event when it happens


def describe(record: dict[str, Any]) -> str:
    """One event as a line for a human."""
    name, at = record["event"], f"({record['at_ms']} ms)"
    media = ", ".join(record.get("media", []))
    if name == "state":
        return f"ended: {record['reason']}" if record["state"] == "ended" else record["state"]
    if name.startswith("first_") and name.endswith("_frame"):
        return f"first {name[6:-6]} frame received {at}"
    texts = {
        "engine_loaded": f"media engine loaded (aiortc imported in {record.get('import_ms')} ms)",
        "offer": f"offering {media}",
        "calling": f"calling {record.get('peer')}",
        "waiting": "waiting for a call" + (f" from {record['caller']}" if record.get("caller") else ""),
        "proposed": f"{record.get('peer')} rings our devices ({media})",
        "incoming": f"incoming call from {record.get('peer')} ({media})",
        "answer": f"answering with {media}",
        "answered": f"answered with {media}",
        "media": f"media {record.get('state')} {at}",
        "no_call": "no call came",
        "ice_servers": "STUN/TURN servers of our server: " + ", ".join(record.get("urls", [])),
        "error": f"error: {record.get('message')}",
        "summary": "frames received: " + (", ".join(f"{kind} {count}" for kind, count in
                                                    record.get("frames", {}).items()) or "none"),
    }
    return str(texts.get(name, name))


async def resolve_profile(client: AsyncBridgeClient, name: str, timeout: float) -> str:
    """The real name of the profile to call with: call signals carry it, not ``""``.

    :raises ProfileNotConnected: the profile is not connected (a call would wait forever).
    """
    if name:
        await require_profiles(client, [name], timeout)
    else:
        name = await default_profile(client, timeout)
    if not await client.is_connected(name, timeout=timeout):
        raise ProfileNotConnected(f"profile {shown(name)} is not connected (sat connect -p {name})")
    return name


async def default_profile(client: AsyncBridgeClient, timeout: float) -> str:
    """The name behind ``""``. The bridge has no member saying it, but the default
    profile's JID tells it apart, unless two profiles share that account.

    :raises ProfileUnknown: there is no profile.
    :raises InvalidArgument: several profiles use the default profile's account.
    """
    profiles = [str(profile) for profile in await client.profiles_list(timeout=timeout)]
    if len(profiles) <= 1:
        if not profiles:
            raise ProfileUnknown("no profile exists yet: create one first")
        return profiles[0]
    default_jid = await client.param_get("Connection", "JabberID", "", timeout=timeout)
    matching = [profile for profile in profiles
                if await client.param_get("Connection", "JabberID", profile, timeout=timeout) == default_jid]
    if len(matching) != 1:
        raise InvalidArgument("several profiles use the default profile's account: choose one with -p")
    return matching[0]


async def run_call(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    started = time.monotonic()
    mode, jid = call_target(args)
    kinds = media_order(args.audio_only, args.video_first)
    profile = await resolve_profile(client, args.profile, args.timeout)
    importing = time.monotonic()
    try:
        from sat_frontends.calls import driver as call_driver
        from sat_frontends.calls import engine as call_engine
        from sat_frontends.calls import media as call_media
    except ImportError as error:
        output.error("NotInstalled", f"calls need aiortc ({error.name} is missing): pip install 'sat[call]'")
        return exit_codes.FAILURE
    emit = EventPrinter(output, started)
    emit("engine_loaded", import_ms=round((time.monotonic() - importing) * 1000))
    if args.host_address:
        call_engine.restrict_host_addresses(args.host_address)
    options = call_driver.CallOptions(
        kinds=kinds, play=args.play, record=args.record, duration=args.duration,
        connect_timeout=args.connect_timeout, wait=args.wait, decline=args.decline,
    )
    driver = call_driver.CallDriver(client, profile, options, emit, args.timeout)
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, driver.stop.set)
    try:
        await driver.subscribe()
        if mode == ANSWER:
            result = await driver.answer(jid, sid=args.sid)
        else:
            with argument_names({"peer_jid": "JID"}):
                result = await driver.place(jid or "")
    except call_media.MediaFileError as error:
        raise InvalidArgument(str(error)) from None
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
    if result.sid:
        emit("summary", sid=result.sid, answered=result.answered, connected=result.connected, reason=result.reason,
             frames=result.frames)
    if result.interrupted:
        return INTERRUPTED
    if (result.answered and result.connected) or (args.decline and result.reason == "decline"):
        return exit_codes.OK
    return exit_codes.FAILURE


def register(subparsers: Any) -> None:
    parser = command(
        subparsers, "call", run_call,
        "place an audio/video call to JID, or wait for one and answer it (sat call answer [JID])",
    )
    parser.epilog = (
        "A full JID (user@host/resource) rings that device, a bare JID every device of the "
        "contact. Sends a 440 Hz tone and a 320x240 test pattern unless --play is given. "
        "Exit code 0 when the call was answered and its media connected (or declined with "
        "--decline), 1 when not, 130 when hung up by Ctrl-C or SIGTERM."
    )
    parser.add_argument("target", metavar="JID|answer", help="JID to call, or 'answer' to wait for a call")
    parser.add_argument("caller", nargs="?", metavar="JID",
                        help="with answer: only a call from this JID (bare: any of its devices)")
    media = parser.add_argument_group("media")
    media.add_argument("--audio-only", action="store_true", help="offer audio only")
    media.add_argument("--video-first", action="store_true",
                       help="offer video before audio (the order is kept end to end)")
    media.add_argument("--play", metavar="FILE", help="send this media file instead of the tone and pattern")
    media.add_argument("--record", metavar="FILE",
                       help="record what is received (the extension chooses the format: .wav, .mp4…)")
    media.add_argument("--host-address", type=ip_address, metavar="IP",
                       help="gather ICE host candidates on this address only (e.g. 127.0.0.1); "
                       "default: every interface but loopback")
    timing = parser.add_argument_group("timing")
    timing.add_argument("--duration", type=positive_seconds, metavar="SECONDS",
                        help="hang up after SECONDS of connected media")
    timing.add_argument("--connect-timeout", type=positive_seconds, default=30.0, metavar="SECONDS",
                        help="give up when the media is not connected SECONDS after the answer (default 30)")
    timing.add_argument("--wait", type=positive_seconds, metavar="SECONDS",
                        help="with answer: give up when no call came within SECONDS (default: wait)")
    parser.add_argument("--decline", action="store_true", help="with answer: decline the call instead")
    parser.add_argument("--sid", help="with answer: this call, ringing already (as the tray's Answer "
                        "starts it), instead of waiting for the next one")
    add_profile_option(parser)
