"""A peer's over-long ids and languages do not cost its message (real SQLite and PostgreSQL).

The history's id columns hold 255 characters and its languages 35: PostgreSQL refuses a
longer value, so a message whose ``id``, origin-id, archive id or ``xml:lang`` was longer
failed to store there, and was lost. The parser drops such an id (that long, it cannot
name a stored message anyway) and shortens such a language the way RFC 4647 looks a tag
up, by its last subtags; the message and its texts are kept.
"""

from __future__ import annotations

from typing import Any

from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from tx_xmpp.generic import parseXml

from sat_backend.core.im.message_stanza import parse_forwarded, parse_message_element
from sat_backend.memory.history_query import HistoryQuery
from sat_backend.memory.sqla import Storage
from tests.integration.test_storage import run_with_storage

ME = JID("alice@example.org/desk")
LONG = "i" * 300
LONG_LANGUAGE = "en-" + "x" * 40


def _element(xml: str) -> domish.Element:
    element = parseXml(xml.encode())
    assert isinstance(element, domish.Element)
    return element


def _hostile_message(body: str) -> str:
    return (
        f"<message xmlns='jabber:client' from='mallory@example.org/x' to='alice@example.org/desk'"
        f" type='chat' id='{LONG}'>"
        f"<body>{body}</body><body xml:lang='{LONG_LANGUAGE}'>{body} in a long language</body>"
        f"<origin-id xmlns='urn:xmpp:sid:0' id='{LONG}'/>"
        f"<stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.org' id='{LONG}'/>"
        "</message>"
    )


def test_a_message_with_over_long_ids_and_language_is_stored_whole(database_url: str) -> None:
    live = parse_message_element(_element(_hostile_message("live")), ME)
    forwarded = _element(
        "<forwarded xmlns='urn:xmpp:forward:0'>"
        "<delay xmlns='urn:xmpp:delay' stamp='2026-01-02T03:04:05Z'/>"
        f"{_hostile_message('archived')}</forwarded>"
    )
    archived = parse_forwarded(forwarded, ME, stanza_id=LONG)
    assert live is not None and archived is not None

    async def scenario(storage: Storage) -> Any:
        await storage.create_profile("alice")
        for message in (live, archived):
            assert await storage.add_to_history("alice", message.to_history(), new_ids=True)
        return await storage.get_history("alice", HistoryQuery())

    stored = run_with_storage(database_url, scenario)
    assert sorted(dict(message.bodies)[""] for message in stored) == ["archived", "live"]
    for message in stored:
        assert (message.origin_id, message.stanza_id, message.message_id) == (None, None, None)
        text = dict(message.bodies)[""]
        assert dict(message.bodies) == {"": text, "en": f"{text} in a long language"}
