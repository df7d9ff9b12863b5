"""When a contact approves our request, our presence is sent to them again only if they
are subscribed to it (a directed presence would otherwise give it away), and only if we
are available. Stub roster and stream: no network."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.im.presence import OwnPresence, PresenceService

CONTACT = JID("alice@example.org")


class StubHandler:
    """Records what the presence service sends on the stream."""

    def __init__(self) -> None:
        self.client = SimpleNamespace(profile="bob", is_connected=True)
        self.sent: list[Any] = []

    def send(self, element: Any) -> None:
        self.sent.append(element)

    def unavailable(self, recipient: JID | None, statuses: Any) -> None:
        self.sent.append(("unavailable", recipient))


def approved(subscription: str | None, own: OwnPresence | None = None) -> list[Any]:
    async def get_contact(profile: str, jid: str) -> Any:
        assert (profile, jid) == ("bob", CONTACT.userhost())
        return None if subscription is None else SimpleNamespace(subscription=subscription)

    service = PresenceService(SimpleNamespace(roster=SimpleNamespace(get_contact=get_contact)))  # type: ignore[arg-type]
    if own is not None:
        service.own["bob"] = own
    handler = StubHandler()
    asyncio.run(service.on_subscription_approved(handler, CONTACT))  # type: ignore[arg-type]
    return handler.sent


@pytest.mark.parametrize("subscription", ["from", "both"])
def test_a_contact_subscribed_to_us_gets_our_presence(subscription: str) -> None:
    (element,) = approved(subscription, OwnPresence("away", {"": "lunch"}, 5))
    assert element.name == "presence" and element.getAttribute("to") == CONTACT.full()
    assert element.getAttribute("type") is None
    assert str(next(element.elements(None, "show"))) == "away"


@pytest.mark.parametrize("subscription", [None, "none", "to"])
def test_a_contact_not_subscribed_to_us_gets_nothing(subscription: str | None) -> None:
    assert approved(subscription) == []


def test_nothing_is_sent_while_we_are_unavailable() -> None:
    assert approved("both", OwnPresence("unavailable")) == []
