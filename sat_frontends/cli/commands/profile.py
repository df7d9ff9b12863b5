"""``sat profile create|list|delete``: manage the XMPP accounts the backend holds."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sat_bridge.client import AsyncBridgeClient
from sat_bridge.errors import InvalidArgument
from sat_frontends.cli.checks import require_profiles
from sat_frontends.cli.commands import command
from sat_frontends.cli.output import Output
from sat_frontends.cli.prompts import confirm, read_secret

TLS_MODES = ("required", "starttls-optional", "direct", "none")


def read_password(from_stdin: bool) -> str:
    """The password comes from a no-echo prompt or stdin (first line), never from argv:
    arguments are visible to every user of the machine in ``ps``."""
    password = read_secret("XMPP password: ", from_stdin=from_stdin, stdin_option="--password-stdin")
    if not password:
        raise InvalidArgument("the password is empty")
    return password


def connection_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``options_json`` object of ``ProfileCreate``, with only what the user gave."""
    options: dict[str, Any] = {}
    if args.host is not None:
        options["host"] = args.host
    if args.port is not None:
        options["port"] = args.port
    if args.tls is not None:
        options["tls"] = args.tls
    if args.autoconnect is not None:
        options["autoconnect"] = args.autoconnect
    if args.ca_file is not None:
        options["ca_file"] = args.ca_file
    return options


async def create_profile(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    password = read_password(args.password_stdin)
    options = json.dumps(connection_options(args))
    await client.profile_create(args.name, args.jid, password, options, timeout=args.timeout)
    output.done(f"profile {args.name!r} created for {args.jid}")
    return 0


async def list_profiles(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    output.lines(await client.profiles_list(timeout=args.timeout), empty="no profile yet (sat profile create)")
    return 0


async def delete_profile(client: AsyncBridgeClient, args: argparse.Namespace, output: Output) -> int:
    await require_profiles(client, [args.name], args.timeout)  # a typo is not worth a confirmation
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidArgument("deleting a profile loses its data: confirm with --yes")
        if not confirm(f"Delete profile {args.name!r} and all its data?"):
            output.done("nothing deleted")
            return 0
    await client.profile_delete(args.name, timeout=args.timeout)
    output.done(f"profile {args.name!r} deleted")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("profile", help="manage profiles (XMPP accounts)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = command(actions, "create", create_profile, "create a profile")
    create.add_argument("name", help="profile name")
    create.add_argument("jid", help="bare JID of the account, user@domain")
    create.add_argument(
        "--password-stdin", action="store_true",
        help="read the password from the first line of stdin when it is not a terminal "
        "(at a terminal it is asked without echo)",
    )
    create.add_argument("--host", help="server host to connect to (default: from the JID's domain)")
    create.add_argument("--port", type=int, help="server port")
    create.add_argument("--tls", choices=TLS_MODES, help="TLS mode (default: required)")
    create.add_argument("--ca-file", help="PEM file of CAs to trust instead of the system ones")
    autoconnect = create.add_mutually_exclusive_group()
    autoconnect.add_argument("--autoconnect", dest="autoconnect", action="store_true", default=None,
                             help="connect when the backend starts")
    autoconnect.add_argument("--no-autoconnect", dest="autoconnect", action="store_false",
                             help="do not connect when the backend starts (the default)")

    command(actions, "list", list_profiles, "list profiles")

    delete = command(actions, "delete", delete_profile, "delete a profile and all its data")
    delete.add_argument("name", help="profile name")
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
