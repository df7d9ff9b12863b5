"""``sat muc join|leave|send|occupants|subject|nick|list``: group chats (XEP-0045).

A room's messages are in ``sat history ROOM``. A room password is read from a no-echo
prompt or stdin (``--password-stdin``), never from the command line.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import NotFound
from sat_frontends.cli.checks import argument_names
from sat_frontends.cli.commands import add_profile_option, command
from sat_frontends.cli.commands.message import text_argument
from sat_frontends.cli.commands.pubsub_owner import field_values, show_configuration
from sat_frontends.cli.output import Output
from sat_frontends.cli.prompts import read_secret

OCCUPANT_COLUMNS = ["nick", "role", "affiliation", "jid", "show", "status"]
ROOM_COLUMNS = ["room", "nick", "state", "subject"]


def _subject_text(subjects: dict[str, str]) -> str:
    return subjects.get("") or next(iter(subjects.values()), "")


async def join_room(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    password = ""
    if args.password or args.password_stdin:
        password = read_secret("room password: ", from_stdin=args.password_stdin, stdin_option="--password-stdin")
    options: dict[str, Any] = {"nick_conflict": args.nick_conflict}
    if args.history is not None:
        options["history_max"] = args.history
    with argument_names({"room_jid": "ROOM", "options_json": "--history"}):
        nick = await client.muc_join(args.room, args.nick or "", password, json.dumps(options), args.profile,
                                     timeout=args.timeout)
    output.value({"room": args.room, "nick": nick} if output.json else f"in {args.room} as {nick}")
    return 0


async def leave_room(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    with argument_names({"room_jid": "ROOM"}):
        await client.muc_leave(args.room, args.profile, timeout=args.timeout)
    output.done(f"left {args.room}")
    return 0


async def send_to_room(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    body = text_argument(args)
    with argument_names({"to_jid": "ROOM"}):
        uid = await client.message_send(args.room, {args.lang: body}, {}, "groupchat", "{}", args.profile,
                                        timeout=args.timeout)
    output.value({"uid": uid} if output.json else uid)
    return 0


async def list_occupants(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    with argument_names({"room_jid": "ROOM"}):
        occupants = await client.muc_occupants_get(args.room, args.profile, timeout=args.timeout)
    rows = [{"nick": nick, **{column: attributes.get(column, "") for column in OCCUPANT_COLUMNS[1:]},
             **({"occupant_id": attributes.get("occupant_id", "")} if output.json else {})}
            for nick, attributes in occupants]
    output.table(rows, OCCUPANT_COLUMNS, empty="nobody in the room")
    return 0


async def room_subject(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    if not args.text and not args.clear:
        rooms = {room: subject for room, _nick, _state, subject in
                 await client.muc_rooms_get(args.profile, timeout=args.timeout)}
        if args.room not in rooms:
            raise NotFound(f"not in room {args.room}")
        output.value(rooms[args.room] if output.json else _subject_text(rooms[args.room]))
        return 0
    subject = {} if args.clear else {args.lang: " ".join(args.text)}
    with argument_names({"room_jid": "ROOM"}):
        await client.muc_subject_set(args.room, subject, args.profile, timeout=args.timeout)
    output.done("subject cleared" if args.clear else "subject set")
    return 0


async def change_nick(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    with argument_names({"room_jid": "ROOM", "nick": "NICK"}):
        await client.muc_nick_set(args.room, args.nick, args.profile, timeout=args.timeout)
    output.done(f"now {args.nick} in {args.room}")
    return 0


async def list_rooms(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    rows = [{"room": room, "nick": nick, "state": state,
             "subject": subject if output.json else _subject_text(subject)}
            for room, nick, state, subject in await client.muc_rooms_get(args.profile, timeout=args.timeout)]
    output.table(rows, ROOM_COLUMNS, empty="in no room")
    return 0


async def set_role(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    role = "none" if args.action == "kick" else args.role
    with argument_names({"room_jid": "ROOM", "nick": "NICK", "reason": "--reason"}):
        await client.muc_role_set(args.room, args.nick, role, args.reason, args.profile, timeout=args.timeout)
    output.done(f"{args.nick} kicked" if role == "none" else f"{args.nick} is now {role}")
    return 0


async def set_affiliation(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    affiliation = "outcast" if args.action == "ban" else args.affiliation
    with argument_names({"room_jid": "ROOM", "jid": "JID", "reason": "--reason"}):
        await client.muc_affiliation_set(args.room, args.jid, affiliation, args.reason, args.profile,
                                         timeout=args.timeout)
    output.done(f"{args.jid} banned" if affiliation == "outcast" else f"{args.jid} is now {affiliation}")
    return 0


async def list_affiliations(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    with argument_names({"room_jid": "ROOM"}):
        listed = await client.muc_affiliations_get(args.room, args.affiliation, args.profile, timeout=args.timeout)
    output.table([{"jid": jid, "nick": nick} for jid, nick in sorted(listed.items())], ["jid", "nick"],
                 empty=f"nobody is {args.affiliation}")
    return 0


async def configure(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    with argument_names({"room_jid": "ROOM", "options_json": "--field"}):
        if args.field:
            await client.muc_config_set(args.room, json.dumps(field_values(args.field)), args.profile,
                                        timeout=args.timeout)
            output.done(f"{args.room} configured")
            return 0
        config = json.loads(await client.muc_config_get(args.room, args.profile, timeout=args.timeout))
    return show_configuration(config, output, "the room has no configuration field")


async def invite(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    with argument_names({"room_jid": "ROOM", "jid": "JID", "reason": "--reason"}):
        await client.muc_invite(args.room, args.jid, args.reason, args.profile, timeout=args.timeout)
    output.done(f"{args.jid} invited to {args.room}")
    return 0


async def moderate(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    with argument_names({"message_uid": "UID", "reason": "--reason"}):
        await client.muc_message_moderate(args.uid, args.reason, args.profile, timeout=args.timeout)
    output.done("message retracted by moderation")
    return 0


def _register_moderation(actions: Any) -> None:
    """kick, ban, role, affiliation, affiliations, config, invite, retract (moderate a message)."""
    def room_command(name: str, handler: Any, help_text: str, *names: tuple[str, str]) -> argparse.ArgumentParser:
        parser = command(actions, name, handler, help_text)
        parser.add_argument("room", metavar="ROOM", help="the room's JID")
        for metavar, meaning in names:
            parser.add_argument(metavar.lower(), metavar=metavar, help=meaning)
        add_profile_option(parser)
        return parser

    def with_reason(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--reason", default="", help="a reason shown to them")
        return parser

    with_reason(room_command("kick", set_role, "kick an occupant (moderators)", ("NICK", "their nick")))
    with_reason(room_command("ban", set_affiliation, "ban a user (admins, owners)", ("JID", "their JID")))
    role = with_reason(room_command("role", set_role, "change an occupant's role (moderators)", ("NICK", "their nick")))
    role.add_argument("role", choices=("moderator", "participant", "visitor", "none"), help="the new role")
    affiliation = with_reason(room_command("affiliation", set_affiliation,
                                           "change a user's affiliation (admins, owners)", ("JID", "their JID")))
    affiliation.add_argument("affiliation", choices=("owner", "admin", "member", "outcast", "none"),
                             help="the new affiliation (none removes it)")
    room_command("affiliations", list_affiliations, "who has an affiliation (outcast: the ban list)").add_argument(
        "affiliation", choices=("owner", "admin", "member", "outcast"), help="which list")
    room_command("config", configure, "show a room's configuration, or change it (owners)").add_argument(
        "-f", "--field", nargs=2, action="append", metavar=("FIELD", "VALUE"),
        help="field to set (repeatable; a field given twice gets a list of values)")
    with_reason(room_command("invite", invite, "invite someone to a room you are in (XEP-0249)", ("JID", "who")))
    retract = with_reason(command(actions, "retract", moderate,
                                  "retract an occupant's message as a moderator (XEP-0425)"))
    retract.add_argument("uid", metavar="UID", help="uid of the room message (see sat history ROOM -O json)")
    add_profile_option(retract)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("muc", help="group chats (rooms)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    join = command(actions, "join", join_room, "enter a room (created if it does not exist); "
                   "it is entered again at each connection until you leave it")
    join.add_argument("room", metavar="ROOM", help="the room's JID, room@service")
    join.add_argument("--nick", help="your nick in the room (default: the local part of your JID)")
    join.add_argument("--password", action="store_true", help="the room needs a password: ask for it")
    join.add_argument("--password-stdin", action="store_true", help="read the room password from stdin's first line")
    join.add_argument("--nick-conflict", choices=("suffix", "error"), default="suffix",
                      help="when the nick is taken: try nick_2… nick_5 (default), or fail")
    join.add_argument("--history", type=int, metavar="N",
                      help="ask for the room's last N messages (default: those since your last one)")
    add_profile_option(join)

    leave = command(actions, "leave", leave_room, "leave a room (it is not entered again)")
    leave.add_argument("room", metavar="ROOM", help="the room's JID")
    add_profile_option(leave)

    send = command(actions, "send", send_to_room, "send a message to a room you are in (text from arguments or stdin)")
    send.add_argument("room", metavar="ROOM", help="the room's JID")
    send.add_argument("text", nargs="*", help="message text (default: read stdin)")
    send.add_argument("--lang", default="", help="xml:lang of the text (default: none)")
    add_profile_option(send)

    occupants = command(actions, "occupants", list_occupants, "who is in a room, with roles and affiliations")
    occupants.add_argument("room", metavar="ROOM", help="the room's JID")
    add_profile_option(occupants)

    subject = command(actions, "subject", room_subject, "show a room's subject, or set it")
    subject.add_argument("room", metavar="ROOM", help="the room's JID")
    subject.add_argument("text", nargs="*", help="the new subject (none: show the current one)")
    subject.add_argument("--clear", action="store_true", help="remove the subject")
    subject.add_argument("--lang", default="", help="xml:lang of the text (default: none)")
    add_profile_option(subject)

    nick = command(actions, "nick", change_nick, "change your nick in a room")
    nick.add_argument("room", metavar="ROOM", help="the room's JID")
    nick.add_argument("nick", metavar="NICK", help="the new nick")
    add_profile_option(nick)

    add_profile_option(command(actions, "list", list_rooms, "the rooms you are in"))
    _register_moderation(actions)
