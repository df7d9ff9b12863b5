"""Shared steps of the archive (XEP-0313) durability tests: reading history, waiting on it."""

from __future__ import annotations

import collections
import re
import time
from typing import Callable

from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess

#: the backend's line at the end of each archive catch-up
CATCH_UP_DONE = re.compile(r"(\S+): archive catch-up done: (\d+) page\(s\), (\d+) message\(s\) fetched, (\d+) new")


def history_bodies(client: BridgeClient, profile: str) -> list[str]:
    """Default-language bodies of the whole history of ``profile``, oldest first."""
    return [row[4].get("", "") for row in client.history_get("", "", 0, False, "{}", profile)]


def duplicates(bodies: list[str]) -> dict[str, int]:
    return {body: count for body, count in collections.Counter(bodies).items() if count > 1}


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"not within {timeout:g} s: {what}")


def wait_for_history(client: BridgeClient, profile: str, expected: set[str], timeout: float) -> list[str]:
    """Wait until every body of ``expected`` is in history; returns the whole history."""
    found: list[str] = []

    def complete() -> bool:
        found[:] = history_bodies(client, profile)
        return expected <= set(found)

    try:
        wait_until(complete, timeout, "history complete", interval=0.5)
    except AssertionError:
        missing = sorted(expected - set(found))
        raise AssertionError(f"{len(missing)} message(s) missing from history, e.g. {missing[:5]}") from None
    return found


def catch_ups(backend: BackendProcess, profile: str) -> list[tuple[int, int, int]]:
    """(pages, messages fetched, new) of every finished catch-up of ``profile``, in order."""
    return [
        (int(pages), int(fetched), int(new))
        for name, pages, fetched, new in CATCH_UP_DONE.findall(backend.log_text())
        if name == profile
    ]
