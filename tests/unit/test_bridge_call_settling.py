"""How a call's reply or failure reaches whoever waits on it, in both clients: once, and
never over an end that came first (a timeout cancelling the wait, ``close()`` failing it
from another thread)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future

import pytest
from dbus_fast import Message

from sat_bridge.client import BridgeUnavailable, _settling

REPLY = Message(path="/t", member="M")


def test_a_reply_or_an_error_settles_a_waiting_call() -> None:
    replied: Future[Message] = Future()
    _settling(replied)(REPLY, None)
    assert replied.result(0) is REPLY
    failed: Future[Message] = Future()
    _settling(failed)(None, BridgeUnavailable("gone"))
    with pytest.raises(BridgeUnavailable, match="gone"):
        failed.result(0)


def test_a_call_ended_first_keeps_its_end() -> None:
    closed: Future[Message] = Future()
    closed.set_exception(BridgeUnavailable("the bridge client was closed while waiting"))
    _settling(closed)(REPLY, None)
    with pytest.raises(BridgeUnavailable, match="closed while waiting"):
        closed.result(0)

    async def timed_out() -> bool:
        waiting: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        waiting.cancel()  # what asyncio.timeout does to the wait
        _settling(waiting)(REPLY, None)
        _settling(waiting)(None, BridgeUnavailable("late"))
        return waiting.cancelled()

    assert asyncio.run(timed_out())
