"""Pure pieces of ``sat pubsub cache``: filters and order keys as JSON, the progress line."""

from __future__ import annotations

import argparse
import io
from datetime import datetime

import pytest

from sat_bridge.errors import InvalidArgument
from sat_frontends.cli.commands.pubsub_cache import (
    order_key,
    parse_path,
    parse_value,
    parsed_filter,
    purge_filters,
    search_query,
    timestamp,
)
from sat_frontends.cli.main import build_parser
from sat_frontends.cli.progress import ProgressLine


def test_paths_are_dotted_or_json() -> None:
    assert parse_path("tags") == ["tags"]
    assert parse_path("links.0.href") == ["links", 0, "href"]
    assert parse_path('["pubsub#title", 2]') == ["pubsub#title", 2]
    for bad in ("[unclosed", '["a"'):
        with pytest.raises(InvalidArgument):
            parse_path(bad)


def test_values_are_json_when_they_parse() -> None:
    assert parse_value("10") == 10 and parse_value("2.5") == 2.5 and parse_value("true") is True
    assert parse_value('"10"') == "10" and parse_value("Hello") == "Hello" and parse_value("null") is None
    assert parse_value('["a", 1]') == ["a", 1]
    assert parsed_filter("tags", "overlap", "sat") == {"path": ["tags"], "op": "overlap", "value": ["sat"]}
    assert parsed_filter("n", "in", "[1, 2]") == {"path": ["n"], "op": "in", "value": [1, 2]}
    assert parsed_filter("n", "between", "[1, 2]")["value"] == [1, 2]


def test_order_keys() -> None:
    assert order_key("creation", False) == {"order": "creation"}
    assert order_key("rank", True) == {"order": "rank", "direction": "desc"}
    assert order_key("title:asc", True) == {"path": ["title"], "direction": "asc"}
    assert order_key("a.b:desc", False) == {"path": ["a", "b"], "direction": "desc"}
    assert order_key("pubsub:title", False) == {"path": ["pubsub:title"]}


def test_timestamps() -> None:
    assert timestamp("1700000000") == 1700000000.0
    assert timestamp("2026-01-02T03:04:05+00:00") == datetime.fromisoformat("2026-01-02T03:04:05+00:00").timestamp()
    with pytest.raises(argparse.ArgumentTypeError):
        timestamp("yesterday")


def test_command_lines_become_bridge_json() -> None:
    parser = build_parser()
    args = parser.parse_args(["pubsub", "cache", "search", "--fts", "hello", "-F", "tags", "overlap", "sat",
                              "-F", "n", ">=", "10", "-t", "blog", "-p", "alice", "--order-by", "title",
                              "--desc", "--index", "20", "--limit", "10", "--payload", "-i", "x"])
    assert search_query(args) == {
        "types": ["blog"], "profiles": ["alice"], "names": ["x"], "fts": "hello",
        "parsed": [{"path": ["tags"], "op": "overlap", "value": ["sat"]}, {"path": ["n"], "op": ">=", "value": 10}],
        "order-by": [{"path": ["title"], "direction": "desc"}], "index": 20, "limit": 10, "with_payload": True,
    }
    assert search_query(parser.parse_args(["pubsub", "cache", "search"])) == {}
    purge = parser.parse_args(["pubsub", "cache", "purge", "-s", "a", "-s", "b", "--subtype", "x",
                               "--updated-before", "100"])
    assert purge_filters(purge) == {"services": ["a", "b"], "subtypes": ["x"], "updated_before": 100.0}
    assert purge_filters(parser.parse_args(["pubsub", "cache", "purge", "--all"])) == {}
    sync = parser.parse_args(["pubsub", "cache", "sync", "-n", "node", "-p", "alice"])
    assert (sync.service, sync.node, sync.profile) == ("", "node", "alice")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_on_a_terminal_is_one_line_redrawn() -> None:
    stream = io.StringIO()
    progress = ProgressLine(stream, "sync", tty=True)
    progress.update(0, 200)
    progress.update(100, 200)
    progress.update(200, 200)
    progress.finish()
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.count("\r") == 3
    assert "[###############...............] 100/200 (50%)" in text
    assert text.rstrip("\n").endswith("200/200 (100%)\x1b[K")


def test_progress_elsewhere_is_periodic_lines_and_the_last_state() -> None:
    stream = io.StringIO()
    clock = Clock()
    progress = ProgressLine(stream, "sync", tty=False, interval=2.0, clock=clock)
    for received in range(10):
        clock.now = received * 0.5  # one line every 2 s, whatever the rate of updates
        progress.update(received, 0)
    progress.finish()
    assert stream.getvalue().splitlines() == ["sync: 0 item(s)", "sync: 4 item(s)", "sync: 8 item(s)",
                                              "sync: 9 item(s)"]
    quiet = io.StringIO()
    ProgressLine(quiet, "sync", tty=False).finish()  # no signal arrived: nothing written
    assert quiet.getvalue() == ""
