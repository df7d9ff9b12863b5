"""Pure pieces of reactions, corrections and retractions: stanza parsing at the edge,
reaction-set arithmetic, the ``extra`` that HistoryGet shows."""

from __future__ import annotations

import pytest
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from tx_xmpp.generic import parseXml

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.im.delivery_errors import MAX_TEXT_LENGTH, parse_delivery_error
from sat_backend.core.im.message_stanza import (
    ChatMessage,
    MalformedStanza,
    MessageChange,
    history_extra,
    parse_message_element,
)
from sat_backend.core.im.messaging import Received, new_message_runs
from sat_backend.memory.sqla_mapping import History, MessageReaction, MessageVersion
from sat_backend.memory.stored_message import history_message
from sat_backend.plugins.plugin_xep_0308 import parse_correction
from sat_backend.plugins.plugin_xep_0424 import parse_retraction
from sat_backend.plugins.plugin_xep_0444 import check_reactions, parse_reactions, updated_reactions

ME = JID("alice@localhost/desk")
PARSERS = (parse_reactions, parse_correction, parse_retraction)


def element(xml: str) -> domish.Element:
    parsed = parseXml(xml.encode())
    assert isinstance(parsed, domish.Element)
    return parsed


def change_of(xml: str) -> MessageChange | None:
    message = parse_message_element(element(xml), ME, PARSERS)
    assert message is not None
    return message.change


def test_reaction_updates() -> None:
    assert updated_reactions(["👍"], ["🎉", "🎉"], "replace") == ["🎉"]
    assert updated_reactions(["👍"], ["🎉", "👍"], "add") == ["👍", "🎉"]
    assert updated_reactions(["👍", "🎉"], ["👍", "🐢"], "remove") == ["🎉"]
    once = updated_reactions(["👍"], ["👍", "🎉"], "toggle")
    assert once == ["🎉"]
    assert updated_reactions(once, ["👍", "🎉"], "toggle") == ["👍"]   # twice: back to the start
    with pytest.raises(InvalidArgument):
        updated_reactions([], ["👍"], "merge")


@pytest.mark.parametrize("reactions, update_type", [
    (["a"], "add"), (["👍👍"], "add"), ([], "toggle"), ([], "remove"), (["👍"], "bogus"), (["👍"] * 65, "add"),
])
def test_bad_reaction_arguments(reactions: list[str], update_type: str) -> None:
    with pytest.raises(InvalidArgument):
        check_reactions(reactions, update_type)


def test_replace_with_nothing_removes_all() -> None:
    check_reactions([], "replace")


def test_a_reaction_stanza_is_a_change_not_a_message() -> None:
    change = change_of(
        "<message xmlns='jabber:client' from='bob@localhost/p' to='alice@localhost' type='chat' id='r1'>"
        "<reactions xmlns='urn:xmpp:reactions:0' id='m1'><reaction>👍</reaction><reaction>x</reaction>"
        "<reaction>👍</reaction><reaction>🐢</reaction></reactions></message>"
    )
    assert change == MessageChange("reactions", "m1", {"reactions": ["👍", "🐢"]})
    with pytest.raises(MalformedStanza):
        change_of("<message xmlns='jabber:client' from='bob@localhost/p'>"
                  "<reactions xmlns='urn:xmpp:reactions:0'/></message>")


def test_corrections_and_retractions() -> None:
    correction = change_of(
        "<message xmlns='jabber:client' from='bob@localhost/p' type='chat' id='c1'><body>fixed</body>"
        "<replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    )
    assert correction == MessageChange("edit", "m1", {"message": {"": "fixed"}})
    retraction = change_of(
        "<message xmlns='jabber:client' from='bob@localhost/p' type='chat'><body>fallback</body>"
        "<retract xmlns='urn:xmpp:message-retract:1' id='m1'/>"
        "<fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/></message>"
    )
    assert retraction == MessageChange("retract", "m1")
    for broken in ("<replace xmlns='urn:xmpp:message-correct:0' id='m1'/>",      # no new text
                   "<body>x</body><replace xmlns='urn:xmpp:message-correct:0'/>",
                   "<retract xmlns='urn:xmpp:message-retract:1'/>"):
        with pytest.raises(MalformedStanza):
            change_of(f"<message xmlns='jabber:client' from='bob@localhost/p'>{broken}</message>")
    # the old retraction namespace is not ours: a plain message (its fallback body)
    assert change_of("<message xmlns='jabber:client' from='bob@localhost/p'><body>fallback</body>"
                     "<retract xmlns='urn:xmpp:message-retract:0' id='m1'/></message>") is None


def test_plain_messages_keep_their_stanza_id() -> None:
    message = parse_message_element(
        element("<message xmlns='jabber:client' from='bob@localhost/p' id='s1'><body>hi</body></message>"),
        ME, PARSERS,
    )
    assert message is not None and message.change is None and message.message_id == "s1"


def test_history_extra_shows_what_happened() -> None:
    """Read through the storage's conversion: it puts the versions in order."""
    entry = history_message(History(id="u1", extra={"thread": "t"}, retracted=None, reactions=[
        MessageReaction(sender="carol@localhost", reactions=["👍", "🎉"], timestamp=1.0),
        MessageReaction(sender="bob@localhost", reactions=["👍"], timestamp=2.0),
    ], versions=[
        MessageVersion(bodies={"": "second"}, replaced=20.0), MessageVersion(bodies={"": "first"}, replaced=10.0),
    ]))
    assert history_extra(entry) == {
        "thread": "t",
        "reactions": {"🎉": ["carol@localhost"], "👍": ["bob@localhost", "carol@localhost"]},
        "edits": [{"message": {"": "first"}, "replaced": 10.0}, {"message": {"": "second"}, "replaced": 20.0}],
        "edited": 20.0,
    }
    assert history_extra(history_message(History(id="u2", extra=None, retracted=5.0))) == {"retracted": 5.0}


def test_a_delivery_error_names_our_message_with_the_servers_condition_and_text() -> None:
    long_text = "t" * (MAX_TEXT_LENGTH + 50)
    found = parse_delivery_error(element(
        "<message xmlns='jabber:client' type='error' id='uid1' from='nosuch@localhost' to='alice@localhost/desk'>"
        "<body>anyone there?</body><error type='cancel'>"
        "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        f"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>{long_text}</text></error></message>"), ME)
    assert found is not None
    assert (found.kind, found.reference_id, found.sender, found.recipient) == \
        ("error", "uid1", "nosuch@localhost", "alice@localhost")
    assert found.data == {"error": {"condition": "service-unavailable", "text": long_text[:MAX_TEXT_LENGTH]}}


@pytest.mark.parametrize("attributes", ["from='nosuch@localhost'", "id='uid1'", "id='uid1' from='bad@@jid'"])
def test_a_delivery_error_without_id_or_sender_names_nothing(attributes: str) -> None:
    assert parse_delivery_error(element(
        f"<message xmlns='jabber:client' type='error' {attributes}><error type='cancel'>"
        "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"), ME) is None


def test_a_batch_of_received_messages_is_cut_into_runs_of_new_messages() -> None:
    """Runs of new messages share a transaction; a change goes alone, after the messages
    before it are announced (it may concern one of them)."""
    def received(name: str, change: bool = False) -> Received:
        kind = MessageChange("edit", "m1", {"body": name}) if change else None
        return (None, ChatMessage(uid=name, timestamp=1.0, from_jid=ME, to_jid=ME, bodies={"": name},  # type: ignore[return-value]
                                  subjects={}, type="chat", change=kind))

    batch = [received("m1"), received("m2"), received("c1", change=True), received("c2", change=True),
             received("m3")]
    runs = [[message.uid for _, message in run] for run in new_message_runs(batch, lambda item: item[1])]
    assert runs == [["m1", "m2"], ["c1"], ["c2"], ["m3"]]
    assert list(new_message_runs([], lambda item: item[1])) == []
    # an archive's page: the messages themselves
    page = [message for _, message in batch]
    assert [[message.uid for message in run] for run in new_message_runs(page, lambda item: item)] == runs
