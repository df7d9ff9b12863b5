"""Every command, option and argument of ``sat`` says what it is for in ``--help``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from sat_frontends.cli.main import build_parser


def parsers(parser: argparse.ArgumentParser, path: str = "sat") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from parsers(child, f"{path} {name}")


def undocumented(parser: argparse.ArgumentParser) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            documented = {choice.dest for choice in action._choices_actions if choice.help}
            missing += [name for name in action.choices if name not in documented]
        elif not action.help or action.help == argparse.SUPPRESS:
            missing.append("/".join(action.option_strings) or action.dest)
    return missing


def test_every_command_option_and_argument_has_help() -> None:
    found = {path: undocumented(parser) for path, parser in parsers(build_parser())}
    assert {path: names for path, names in found.items() if names} == {}
    assert len(found) > 40  # the walk reached the nested commands
