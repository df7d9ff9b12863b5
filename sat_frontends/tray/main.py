"""Entry point of ``sat-tray``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Sequence

from sat_frontends.tray.app import Tray, TrayOptions
from sat_frontends.tray.calls import DEFAULT_ANSWER_COMMAND
from sat_frontends.tray.rooms import ALL, MENTIONS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sat-tray",
        description="System tray icon, menu and notifications of SàT (StatusNotifierItem, "
        "freedesktop notifications). Talks to the backend over D-Bus.",
    )
    parser.add_argument("--privacy", action="store_true",
                        help="notifications say who wrote, never what")
    parser.add_argument("--open-command", default="",
                        help="command opening a conversation; {jid} and {profile} are replaced "
                        "(e.g. \"x-terminal-emulator -e sat message history {jid} -p {profile}\")")
    parser.add_argument("--answer-command", default=DEFAULT_ANSWER_COMMAND,
                        help="call frontend started by a call notification's Answer; {sid}, {jid} and "
                        "{profile} are replaced (default: %(default)s)")
    parser.add_argument("--room-messages", default=MENTIONS, choices=(MENTIONS, ALL),
                        help="room messages notified: those that mention us, or all of them; every one "
                        "counts as unread (default: %(default)s)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


async def serve(tray: Tray) -> None:
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, tray.quit)
    await tray.run()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tray = Tray(TrayOptions(privacy=args.privacy, open_command=args.open_command,
                            answer_command=args.answer_command, room_messages=args.room_messages))
    asyncio.run(serve(tray))
    return 1 if tray.lost else 0
