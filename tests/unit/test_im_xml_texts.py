"""Text XML 1.0 cannot carry is refused by the IM core's own API (messages, presence,
roster), before a profile is resolved or anything is stored or sent: plugins and other
callers that do not go through the bridge's argument checks are covered too. The host
here fails the test if it is touched at all."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Awaitable, Callable

import pytest

from sat_backend.core.im.messaging import Messaging
from sat_backend.core.im.presence import PresenceService
from sat_backend.core.im.roster import RosterService

from tests.unit.text_refusals import UntouchableHost, refused as refused_with

SECRET = "s3cret-text"


@pytest.mark.parametrize("char", ["\x07", "\x01", "\x1f", "\x0b", "\ufffe", "\uffff", "\ud800"])
def test_messages(char: str) -> None:
    messaging = Messaging(SimpleNamespace(storage=None))  # type: ignore[arg-type]
    messaging.host = UntouchableHost()  # type: ignore[assignment]
    send = messaging.send
    refused(lambda: send("bob@localhost", {"": SECRET + char}, {}, "chat", "{}", "alice"), "message")
    refused(lambda: send("bob@localhost", {"": "ok"}, {"": SECRET + char}, "chat", "{}", "alice"), "subject")
    refused(lambda: send("bob@localhost", {"en" + char: "ok"}, {}, "chat", "{}", "alice"), "the language of a message")


@pytest.mark.parametrize("char", ["\x07", "\ufffe", "\ud800"])
def test_presence_and_roster(char: str) -> None:
    presence = PresenceService(UntouchableHost())  # type: ignore[arg-type]
    refused(lambda: presence.presence_set("", "away", {"": SECRET + char}, "alice"), "status")
    refused(lambda: presence.presence_set("", "away", {"fr" + char: "salut"}, "alice"), "the language of a status")
    roster = RosterService(UntouchableHost())  # type: ignore[arg-type]
    refused(lambda: roster.contact_update("bob@localhost", SECRET + char, [], "alice"), "name")
    refused(lambda: roster.contact_update("bob@localhost", "Bob", ["ok", SECRET + char], "alice"), "group")


def refused(call: Callable[[], Awaitable[Any]], what: str) -> None:
    refused_with(call, what, SECRET)
