"""``sat message send|react|edit|retract`` and ``sat history``: messages and their history."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument
from sat_frontends.cli.checks import argument_names
from sat_frontends.cli.commands import add_profile_option, command
from sat_frontends.cli.output import Output

HISTORY_FIELDS = ("uid", "timestamp", "from", "to", "message", "subject", "type", "extra")


def text_argument(args: argparse.Namespace) -> str:
    """The text to send: the ``text`` arguments joined, else stdin."""
    text = " ".join(args.text) if args.text else sys.stdin.read().rstrip("\n")
    if not text:
        raise InvalidArgument("nothing to send: give the text as arguments or on stdin")
    return text


async def send_message(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    body = text_argument(args)
    subject = {args.lang: args.subject} if args.subject else {}
    with argument_names({"to_jid": "JID"}):
        uid = await client.message_send(
            args.to, {args.lang: body}, subject, args.type, "{}", args.profile, timeout=args.timeout
        )
    output.value({"uid": uid} if output.json else uid)
    return 0


async def react(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.message_reactions_set(args.uid, args.emoji, args.mode, args.profile, timeout=args.timeout)
    output.done("reactions set")
    return 0


async def edit_message(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.message_edit(args.uid, {args.lang: text_argument(args)}, "{}", args.profile, timeout=args.timeout)
    output.done("message edited")
    return 0


async def retract_message(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.message_retract(args.uid, args.profile, timeout=args.timeout)
    output.done("message retracted")
    return 0


async def show_history(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    filters: dict[str, Any] = {}
    if args.search:
        filters["body"] = args.search
    if args.type:
        filters["types"] = args.type
    if args.with_jid and args.from_jid:
        raise InvalidArgument("give either a conversation JID or --from, not both")
    # a conversation: from that JID, or to it (between=True swaps the two ends)
    with argument_names({"from_jid": "JID" if args.with_jid else "--from"}):
        rows = await client.history_get(
            args.with_jid or args.from_jid, "", args.limit, bool(args.with_jid), json.dumps(filters),
            args.profile, timeout=args.timeout,
        )
    records = [dict(zip(HISTORY_FIELDS, row)) for row in rows]
    if output.json:
        for record in records:
            record["extra"] = json.loads(record["extra"])
        output.value(records)
        return 0
    if not records:
        output.note("no messages")
    for record in records:
        output.value(format_message(record))
    return 0


def format_message(record: dict[str, Any]) -> str:
    """A message: ``[time] sender → recipient: body``, marked ``(edited)`` or shown as
    retracted, then one line of reactions (``👍 bob@example.org``) when there are some."""
    when = datetime.fromtimestamp(record["timestamp"]).strftime("%Y-%m-%d %H:%M:%S")
    body = record["message"].get("") or next(iter(record["message"].values()), "")
    subject = record["subject"].get("") or next(iter(record["subject"].values()), "")
    text = f"[{subject}] {body}" if subject else body
    extra = record.get("extra")
    extra = json.loads(extra) if isinstance(extra, str) else (extra or {})
    if isinstance(extra.get("call"), dict):
        text = describe_call(extra["call"])
    elif extra.get("retracted") is not None:
        text = "(message retracted)"
    elif extra.get("edits"):
        text += " (edited)"
    line = f"[{when}] {record['from']} → {record['to']}: {text}"
    reactions = extra.get("reactions") or {}
    if reactions:
        line += "\n    " + "  ".join(f"{emoji} {', '.join(senders)}" for emoji, senders in reactions.items())
    return line


def describe_call(call: dict[str, Any]) -> str:
    """A call's history entry (``extra.call``, see ``doc/calls.rst``): it has no body."""
    media = "+".join(str(kind) for kind in call.get("media", [])) or "media"
    if call.get("state") == "answered":
        return f"({media} call, {float(call.get('duration') or 0):.1f} s, ended: {call.get('reason')})"
    return f"({call.get('state')} {media} call: {call.get('reason')})"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("message", help="send messages")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = command(actions, "send", send_message, "send a message (text from arguments or stdin)")
    send.add_argument("to", metavar="JID", help="recipient JID")
    send.add_argument("text", nargs="*", help="message text (default: read stdin)")
    send.add_argument("--subject", help="subject of the message")
    send.add_argument("--type", default="chat", choices=("chat", "normal", "headline"),
                      help="message type (default: chat)")
    send.add_argument("--lang", default="", help="xml:lang of the text (default: none)")
    add_profile_option(send)

    reaction = command(actions, "react", react, "set your reactions (emojis) to a message")
    reaction.add_argument("uid", help="uid of the message (see sat history -O json)")
    reaction.add_argument("emoji", nargs="*", help="emojis (none with --mode replace: remove yours)")
    reaction.add_argument("--mode", default="toggle", choices=("replace", "add", "remove", "toggle"),
                          help="how the emojis change your reactions (default: toggle)")
    add_profile_option(reaction)

    edit = command(actions, "edit", edit_message, "correct one of your messages")
    edit.add_argument("uid", help="uid of your message")
    edit.add_argument("text", nargs="*", help="the new text (default: read stdin)")
    edit.add_argument("--lang", default="", help="xml:lang of the text (default: none)")
    add_profile_option(edit)

    retract = command(actions, "retract", retract_message, "retract (unsend) one of your messages")
    retract.add_argument("uid", help="uid of your message")
    add_profile_option(retract)

    history = command(subparsers, "history", show_history, "show the message history, oldest first")
    history.add_argument("with_jid", nargs="?", metavar="JID", help="only the conversation with this JID")
    history.add_argument("--from", dest="from_jid", default="", help="only messages from this JID")
    history.add_argument("-n", "--limit", type=int, default=50, help="the N most recent (0: all; default 50)")
    history.add_argument("-s", "--search", help="only messages whose text contains this (any case)")
    history.add_argument("--type", action="append", help="only this message type (repeatable)")
    add_profile_option(history)
