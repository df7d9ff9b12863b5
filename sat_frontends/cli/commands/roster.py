"""``sat roster list|add|delete|answer`` and ``sat presence set|list``."""

from __future__ import annotations

import argparse
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_frontends.cli.commands import add_profile_option, command
from sat_frontends.cli.output import Output

CONTACT_COLUMNS = ["jid", "name", "subscription", "ask", "groups"]
PRESENCE_COLUMNS = ["jid", "resource", "show", "priority", "status"]


async def list_contacts(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    rows = [
        {"jid": jid, **attributes, "groups": ", ".join(groups) if not output.json else groups}
        for jid, attributes, groups in await client.contacts_get(args.profile, timeout=args.timeout)
    ]
    output.table(rows, CONTACT_COLUMNS, empty="no contacts")
    return 0


async def add_contact(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.contact_add(args.jid, args.profile, timeout=args.timeout)
    if args.name or args.group:
        await client.contact_update(args.jid, args.name or "", args.group or [], args.profile, timeout=args.timeout)
    output.done(f"{args.jid} added; a subscription request was sent")
    return 0


async def delete_contact(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.contact_delete(args.jid, args.profile, timeout=args.timeout)
    output.done(f"{args.jid} removed from the roster")
    return 0


async def answer_subscription(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await client.contact_subscription_answer(args.jid, args.answer == "accept", args.profile, timeout=args.timeout)
    output.done(f"subscription of {args.jid} {args.answer}ed")
    return 0


async def set_presence(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    show = "" if args.show == "available" else args.show
    statuses = {"": args.status} if args.status else {}
    await client.presence_set(args.to or "", show, statuses, args.profile, timeout=args.timeout)
    output.done(f"presence set to {args.show}")
    return 0


async def list_presence(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    statuses = await client.presence_statuses_get(args.profile, timeout=args.timeout)
    rows = [
        {"jid": jid, "resource": resource, "show": show or "available", "priority": priority,
         "status": texts.get("") or next(iter(texts.values()), "")}
        for jid, resources in sorted(statuses.items())
        for resource, (show, priority, texts) in sorted(resources.items())
    ]
    output.table(rows, PRESENCE_COLUMNS, empty="no contact online")
    return 0


def register(subparsers: Any) -> None:
    roster = subparsers.add_parser("roster", help="contacts (roster)")
    actions = roster.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_profile_option(command(actions, "list", list_contacts, "list contacts (works offline)"))
    add = command(actions, "add", add_contact, "add a contact and ask for their presence")
    add.add_argument("jid", help="the contact's bare JID, user@domain")
    add.add_argument("--name", help="display name")
    add.add_argument("--group", action="append", help="roster group (repeatable)")
    add_profile_option(add)
    delete = command(actions, "delete", delete_contact, "remove a contact (cancels subscriptions)")
    delete.add_argument("jid", help="the contact's JID")
    add_profile_option(delete)
    answer = command(actions, "answer", answer_subscription, "answer a subscription request")
    answer.add_argument("jid", help="JID that asked to see your presence")
    answer.add_argument("answer", choices=("accept", "refuse"), help="let them see your presence, or not")
    add_profile_option(answer)

    presence = subparsers.add_parser("presence", help="presence")
    presence_actions = presence.add_subparsers(dest="action", required=True, metavar="ACTION")
    set_ = command(presence_actions, "set", set_presence, "set our presence")
    set_.add_argument("show", choices=("available", "away", "chat", "dnd", "xa", "unavailable"),
                      help="availability (dnd: do not disturb, xa: away for long)")
    set_.add_argument("status", nargs="?", help="status text")
    set_.add_argument("--to", help="send only to this JID (default: everyone)")
    add_profile_option(set_)
    add_profile_option(command(presence_actions, "list", list_presence, "show contacts' presence now"))
