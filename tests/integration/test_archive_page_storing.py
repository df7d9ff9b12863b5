"""An archive's page stored as one batch (real SQLite and PostgreSQL): what a catch-up
(XEP-0313, a room's or ours) hands :meth:`Messaging.on_received_all`.

Each run of new messages shares one transaction. Two things must not change with it: a
message already in history (or met earlier in the same page) is neither stored again nor
announced again; and when the database refuses a message, the messages before it are
stored and announced all the same (the page's transaction failed, so each is stored on
its own), the refused one raises :class:`Database`, and those after it are left for the
next catch-up: the archive position may only move past what was stored. A failure to
announce one message, after the run is stored, costs the others nothing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from twisted.words.protocols.jabber.jid import JID

from sat_backend.core.exceptions import Database
from sat_backend.core.im.message_stanza import ChatMessage
from sat_backend.core.im.messaging import Messaging
from sat_backend.core.triggers import TriggerManager
from sat_backend.memory.history_query import HistoryQuery
from sat_backend.memory.sqla import Storage
from tests.integration.test_storage import run_with_storage

ME = JID("alice@example.org/desk")
PEER = JID("bob@example.org/phone")
#: the body the database refuses (a trigger of the test's)
REFUSED = "refused body"


class Emitted:
    """Stands for the bridge: the signals emitted, in order; the ``MessageNew`` of the
    message ``failing`` names raises instead."""

    def __init__(self) -> None:
        self.signals: list[tuple[str, tuple[Any, ...]]] = []
        self.failing: str | None = None

    def emit(self, name: str, *args: Any) -> None:
        if name == "MessageNew" and args[0] == self.failing:
            raise RuntimeError("the bus refused this signal (the test's)")
        self.signals.append((name, args))

    def new_messages(self) -> list[str]:
        return [args[0] for name, args in self.signals if name == "MessageNew"]


def archived(uid: str, stanza_id: str, body: str) -> ChatMessage:
    return ChatMessage(uid=uid, timestamp=1_700_000_000.0, from_jid=PEER, to_jid=ME, bodies={"": body},
                       subjects={}, type="chat", stanza_id=stanza_id, received_timestamp=1_700_000_001.0)


def messaging_on(storage: Storage) -> tuple[Messaging, Emitted, Any]:
    emitted = Emitted()
    host = SimpleNamespace(storage=storage, bridge=emitted, triggers=TriggerManager())
    client = SimpleNamespace(profile="alice", jid=ME)
    return Messaging(host), emitted, client  # type: ignore[arg-type]


async def stored_bodies(storage: Storage) -> list[str]:
    return sorted(entry.bodies.get("", "") for entry in await storage.get_history("alice", HistoryQuery()))


def test_a_page_stores_and_announces_each_new_message_once(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[list[bool], list[str], list[str]]:
        await storage.create_profile("alice")
        messaging, emitted, client = messaging_on(storage)
        earlier = [archived("m0", "s0", "stored by an earlier catch-up")]
        await messaging.on_received_all(client, earlier, [])
        emitted.signals.clear()
        page = [
            archived("m1", "s1", "first"),
            archived("m0-again", "s0", "stored by an earlier catch-up"),  # the same archive id
            archived("m2", "s2", "second"),
            archived("m2-again", "s2", "second"),  # twice in the page itself
            archived("m3", "s3", "third"),
        ]
        stored: list[bool] = []
        await messaging.on_received_all(client, page, stored)
        return stored, emitted.new_messages(), await stored_bodies(storage)

    stored, announced, bodies = run_with_storage(database_url, scenario)
    assert stored == [True, False, True, False, True]
    assert announced == ["m1", "m2", "m3"]
    assert bodies == ["first", "second", "stored by an earlier catch-up", "third"]


def test_a_message_that_cannot_be_announced_costs_the_others_of_its_page_nothing(database_url: str) -> None:
    """The page's run is stored in one transaction before any is announced: when one
    announcement fails, the next ones are still made (else they would be in history,
    never announced, and the next catch-up would find them not new)."""
    async def scenario(storage: Storage) -> tuple[list[bool], list[str], list[str]]:
        await storage.create_profile("alice")
        messaging, emitted, client = messaging_on(storage)
        emitted.failing = "m2"
        stored: list[bool] = []
        await messaging.on_received_all(
            client, [archived("m1", "s1", "first"), archived("m2", "s2", "second"), archived("m3", "s3", "third")],
            stored)
        return stored, emitted.new_messages(), await stored_bodies(storage)

    stored, announced, bodies = run_with_storage(database_url, scenario)
    assert stored == [True, True, True]
    assert announced == ["m1", "m3"]
    assert bodies == ["first", "second", "third"]


def _refusing_trigger(database_url: str) -> list[str]:
    """A trigger refusing the body :data:`REFUSED` with an error that is not a conflict
    (as a full disk or a broken file would)."""
    if database_url.startswith("sqlite"):
        # json() of malformed text fails when the statement runs: an OperationalError
        return [f"CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.message = '{REFUSED}' "
                "BEGIN SELECT json('{'); END"]
    return [
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
        f"IF NEW.message = '{REFUSED}' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse()",
    ]


def test_a_refused_message_stops_the_page_after_storing_those_before_it(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[list[bool], list[str], list[str]]:
        await storage.create_profile("alice")
        async with storage.engine.begin() as connection:
            for statement in _refusing_trigger(database_url):
                await connection.execute(text(statement))
        messaging, emitted, client = messaging_on(storage)
        page = [archived("m1", "s1", "first"), archived("m2", "s2", "second"), archived("m3", "s3", REFUSED),
                archived("m4", "s4", "after the refused one")]
        stored: list[bool] = []
        with pytest.raises(Database):
            await messaging.on_received_all(client, page, stored)
        return stored, emitted.new_messages(), await stored_bodies(storage)

    stored, announced, bodies = run_with_storage(database_url, scenario)
    assert stored == [True, True]
    assert announced == ["m1", "m2"]
    assert bodies == ["first", "second"]
