"""Twisted's reactor is installed on the running asyncio loop at its first use, and its
shutdown still runs when the backend stops (issue 14: a start runs without it, so
without Twisted's TLS stack). Each case runs in a new interpreter: a reactor is
installed once per process."""

from __future__ import annotations

import json
import subprocess
import sys

FIRST_USE = """
import asyncio, json, sys
from sat_backend.core import reactor_on_loop

seen = {}
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)

async def first_use():
    seen["installed_before"] = reactor_on_loop.installed() is not None
    reactor = reactor_on_loop.reactor()
    seen["same_reactor"] = reactor_on_loop.reactor() is reactor
    seen["on_our_loop"] = reactor._asyncioEventloop is loop
    seen["running"] = reactor.running
    fired = loop.create_future()
    reactor.callLater(0.001, fired.set_result, "timer")  # Twisted's timers run on the loop
    seen["timer"] = await fired
    reactor.addSystemEventTrigger("before", "shutdown", lambda: seen.setdefault("order", []).append("before"))
    reactor.addSystemEventTrigger("during", "shutdown", lambda: seen.setdefault("order", []).append("during"))
    reactor_on_loop.stop_loop(loop)

loop.create_task(first_use())
loop.run_forever()
seen["order"].append("loop stopped")
seen["tls_after_use"] = "twisted.protocols.tls" in sys.modules
print(json.dumps(seen))
"""

WITHOUT_REACTOR = """
import asyncio, sys
from sat_backend.core import reactor_on_loop

loop = asyncio.new_event_loop()
loop.call_soon(reactor_on_loop.stop_loop, loop)
loop.run_forever()
print(reactor_on_loop.installed() is None and "twisted.internet.tcp" not in sys.modules)
"""


def run(script: str) -> str:
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.splitlines()[-1]


def test_the_reactor_is_installed_on_the_running_loop_at_its_first_use() -> None:
    seen = json.loads(run(FIRST_USE))
    assert seen["installed_before"] is False
    assert seen["same_reactor"] and seen["on_our_loop"] and seen["running"]
    assert seen["timer"] == "timer"
    # its shutdown triggers run, then it stops the loop
    assert seen["order"] == ["before", "during", "loop stopped"]
    assert seen["tls_after_use"] is True  # imported with the reactor, at its first use


def test_a_loop_without_a_reactor_stops_without_installing_one() -> None:
    assert run(WITHOUT_REACTOR) == "True"
