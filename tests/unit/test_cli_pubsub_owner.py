"""``sat pubsub node config set -f FIELD VALUE`` pairs become the options JSON object."""

from __future__ import annotations

from sat_frontends.cli.commands.pubsub_owner import field_values
from sat_frontends.cli.main import build_parser


def test_a_field_given_twice_gets_a_list() -> None:
    assert field_values([["pubsub#title", "t"], ["pubsub#contact", "a@x"], ["pubsub#contact", "b@x"],
                         ["pubsub#contact", "c@x"]]) == {"pubsub#title": "t", "pubsub#contact": ["a@x", "b@x", "c@x"]}


def test_node_actions_parse() -> None:
    parser = build_parser()
    args = parser.parse_args(["pubsub", "node", "config", "set", "-n", "n", "-f", "pubsub#title", "x"])
    assert args.field == [["pubsub#title", "x"]] and args.service == "" and args.node == "n"
    args = parser.parse_args(["pubsub", "node", "create", "-n", "n", "--keep-all"])
    assert args.node_action == "create" and args.keep_all is True
    args = parser.parse_args(["pubsub", "subscriptions", "-s", "pubsub.example.org"])
    assert args.node == "" and args.service == "pubsub.example.org"
