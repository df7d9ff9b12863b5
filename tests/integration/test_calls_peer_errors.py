"""What a peer gets for Jingle requests we cannot act on (XEP-0166 1.1.2 §8), on a real
Prosody: carol, a raw slixmpp client in bob's roster, sends stanzas written by hand from
the XEPs' examples and reads the error conditions; nothing rings for a refused request."""

from __future__ import annotations

import pytest

from sat_bridge import errors
from tests.fixtures.xmpp_peer import XmppPeer
from tests.integration.test_calls_signalling import (  # noqa: F401 - fixtures
    NS_JINGLE,
    STRANGER_INITIATE,
    Parties,
    assert_terminated,
    jingle_error,
    jingle_requests,
    parties,
    terminate,
)
from tests.integration.test_messaging import carol  # noqa: F401 - a raw peer

SID = "a73sjjvkla37jfea"  # the sid of XEP-0167's example offer


@pytest.fixture
def bob_knows_carol(parties: Parties, carol: XmppPeer) -> Parties:
    parties.client.contact_add("carol@localhost", "bob")
    parties.signals.wait_for("ContactNew", lambda jid, *rest: jid == "carol@localhost" and rest[-1] == "bob")
    return parties


def initiate(carol: XmppPeer) -> str:
    return STRANGER_INITIATE.format(initiator=carol.jid)


@pytest.mark.parametrize(("what", "change"), [
    ("a content without a name", (" name='voice'", "")),
    ("a payload type whose id is not a number", ("id='96'", "id='speex'")),
    ("a content without a transport", ("<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' "
                                       "ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'/>", "")),
    ("no sid", (f" sid='{SID}'", "")),
    ("no action", (" action='session-initiate'", "")),
])
def test_a_malformed_session_initiate_is_bad_request(bob_knows_carol: Parties, carol: XmppPeer, what: str,
                                                     change: tuple[str, str]) -> None:
    malformed = initiate(carol).replace(*change)
    assert malformed != initiate(carol), what
    assert jingle_error(carol, bob_knows_carol.jids["bob"], malformed) == ("bad-request", "")
    # nothing was stored: the well-formed one with the same sid rings
    assert jingle_error(carol, bob_knows_carol.jids["bob"], initiate(carol)) is None
    bob_knows_carol.wait("CallIncoming", SID, "bob")
    assert [args[0] for name, args in bob_knows_carol.signals.history if name == "CallIncoming"] == [SID]


def test_an_action_xep_0166_does_not_define(bob_knows_carol: Parties, carol: XmppPeer) -> None:
    """feature-not-implemented, whether the sid is known or not."""
    bob = bob_knows_carol.jids["bob"]
    unknown = f"<jingle xmlns='{NS_JINGLE}' action='session-frobnicate' sid='{{sid}}'/>"
    assert jingle_error(carol, bob, unknown.format(sid="nope")) == ("feature-not-implemented", "")
    assert jingle_error(carol, bob, initiate(carol)) is None
    bob_knows_carol.wait("CallIncoming", SID, "bob")
    assert jingle_error(carol, bob, unknown.format(sid=SID)) == ("feature-not-implemented", "")
    # a XEP-0166 action we do not act on, in a session we know: the same refusal
    content_add = (f"<jingle xmlns='{NS_JINGLE}' action='content-add' sid='{SID}'>"
                   "<content creator='initiator' name='screen'/></jingle>")
    assert jingle_error(carol, bob, content_add) == ("feature-not-implemented", "")
    assert jingle_error(carol, bob, content_add.replace(SID, "nope")) == ("item-not-found", "unknown-session")


def test_actions_out_of_order(bob_knows_carol: Parties, carol: XmppPeer) -> None:
    """The session's state does not allow them: unexpected-request with <out-of-order/>;
    the call goes on (a session-info is acknowledged, bob can still decline it)."""
    client, bob = bob_knows_carol.client, bob_knows_carol.jids["bob"]
    received = jingle_requests(carol)
    assert jingle_error(carol, bob, initiate(carol)) is None
    bob_knows_carol.wait("CallIncoming", SID, "bob")
    accept_by_the_initiator = (f"<jingle xmlns='{NS_JINGLE}' action='session-accept' sid='{SID}' "
                               f"responder='{carol.jid}'/>")
    assert jingle_error(carol, bob, accept_by_the_initiator) == ("unexpected-request", "out-of-order")
    assert jingle_error(carol, bob, initiate(carol)) == ("unexpected-request", "out-of-order")
    ringing = (f"<jingle xmlns='{NS_JINGLE}' action='session-info' sid='{SID}'>"
               "<ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/></jingle>")
    assert jingle_error(carol, bob, ringing) is None
    client.call_end(SID, "", "bob")
    assert_terminated(received, SID, "decline")
    for late in (terminate(SID), accept_by_the_initiator):  # the session is gone
        assert jingle_error(carol, bob, late) == ("item-not-found", "unknown-session")
    with pytest.raises(errors.NotFound):
        client.call_end(SID, "", "bob")
