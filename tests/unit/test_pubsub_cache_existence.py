"""The cache confirms a node with its service only when due (first read of the run, or the
period over), treats only item-not-found as "gone" (then queues a ``delete``), and keeps
serving on any other answer. Clock injected, stanzas stubbed: no network, no waiting."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import NotFound, Stanza, Timeout
from sat_backend.plugins.pubsub_cache.existence import NS_DISCO_INFO, ExistenceCheck

SERVICE = JID("pubsub.example.org")


class StubPubsub:
    """Answers each disco#info with the next outcome (an exception to raise, or None)."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.asked: list[Any] = []
        self.queued: list[Any] = []

    async def ask(self, sent: Any, what: str) -> None:
        self.asked.append(sent)
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome

    def queue_event(self, event: Any) -> None:
        self.queued.append(event)


class SentIq(dict):  # type: ignore[type-arg]
    """``new_iq`` stand-in: records the query; ``send()`` gives it back to ``ask``."""

    def __init__(self) -> None:
        super().__init__()
        self.query: dict[str, str] = {}

    def addElement(self, name: tuple[str, str]) -> dict[str, str]:  # noqa: N802 - domish's name
        assert name == (NS_DISCO_INFO, "query")
        return self.query

    def send(self) -> SentIq:
        return self


def check(pubsub: StubPubsub, period: int, now: list[float], monkeypatch: pytest.MonkeyPatch) -> ExistenceCheck:
    monkeypatch.setattr("sat_backend.plugins.pubsub_cache.existence.new_iq", lambda client, kind: SentIq())

    async def get_public(category: str, name: str, profile: str) -> str:
        assert (category, name) == ("Pubsub", "CacheRevalidateAfter")
        return str(period)

    host = SimpleNamespace(plugins={"XEP-0060": pubsub}, params=SimpleNamespace(get_public=get_public))
    return ExistenceCheck(host, clock=lambda: now[0])  # type: ignore[arg-type]


def exists(existence: ExistenceCheck) -> bool:
    client = SimpleNamespace(profile="alice")
    node = SimpleNamespace(id=7, name="blog", service=SERVICE.full())
    return asyncio.run(existence.still_exists(client, SERVICE, node))  # type: ignore[arg-type]


def test_confirmed_at_first_read_then_only_when_the_period_is_over(monkeypatch: pytest.MonkeyPatch) -> None:
    pubsub, now = StubPubsub(None, None), [1000.0]
    existence = check(pubsub, 300, now, monkeypatch)
    assert exists(existence) and len(pubsub.asked) == 1
    assert pubsub.asked[0]["to"] == SERVICE.full() and pubsub.asked[0].query == {"node": "blog"}
    now[0] += 299
    assert exists(existence) and len(pubsub.asked) == 1  # within the period: not asked
    now[0] += 1
    assert exists(existence) and len(pubsub.asked) == 2
    assert pubsub.queued == []


def test_item_not_found_is_gone_and_queues_a_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    pubsub, now = StubPubsub(NotFound("item-not-found: information on 'blog'"), None), [0.0]
    existence = check(pubsub, 0, now, monkeypatch)
    assert exists(existence) is False
    (event,) = pubsub.queued
    assert (event.service, event.node, event.event_type) == (SERVICE, "blog", "delete")
    assert exists(existence) is True and len(pubsub.asked) == 2  # a node made again: asked again


@pytest.mark.parametrize("answer", [Stanza("feature-not-implemented: information on 'blog'"),
                                    Timeout("no answer"), None])
def test_any_other_answer_keeps_the_cache_serving(answer: Exception | None, monkeypatch: pytest.MonkeyPatch) -> None:
    pubsub = StubPubsub(answer)
    assert exists(check(pubsub, 0, [0.0], monkeypatch)) is True
    assert pubsub.queued == []
