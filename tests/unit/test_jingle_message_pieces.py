"""XEP-0353's stanza handler, without a stream: which children of a message it takes for
Jingle messages (the namespace and the name both count); the messages it builds; and the
ring timeout's timers on a fake clock."""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from sat_backend.core.xml_payloads import payload_element
from sat_backend.plugins.jingle.actions import parse_reason
from sat_backend.plugins.jingle.ring_timers import RingTimers
from sat_backend.plugins.jingle.message_handler import JingleMessageHandler
from sat_backend.plugins.plugin_xep_0353 import NS_JINGLE_MESSAGE, JingleMessageInitiation, jingle_message_children

NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_CARBONS = "urn:xmpp:carbons:2"


class RecordingPlugin:
    """Stands for the plugin: records what the handler passes on."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str]] = []
        self.elsewhere: list[tuple[str, str]] = []

    def on_jingle_message(self, client: Any, sender: str | None, child: domish.Element) -> None:
        self.received.append((sender or "", child.uri, child.name))

    def on_our_other_device(self, client: Any, child: domish.Element) -> None:
        self.elsewhere.append((child.uri, child.name))


class FakeClient:
    profile = "bob"

    class jid:  # noqa: N801 - what the handler reads of a client's JID
        @staticmethod
        def userhost() -> str:
            return "bob@localhost"


def handler() -> tuple[JingleMessageHandler, RecordingPlugin]:
    plugin = RecordingPlugin()
    return JingleMessageHandler(plugin, FakeClient()), plugin  # type: ignore[arg-type]


def message(children: str, sender: str = "carol@localhost/phone") -> domish.Element:
    return payload_element(f"<message xmlns='jabber:client' from='{sender}' to='bob@localhost' type='chat'>"
                           f"{children}</message>")


def test_a_propose_of_another_namespace_is_not_a_call() -> None:
    jingle, plugin = handler()
    jingle.on_message(message("<body>hi</body><propose xmlns='urn:example:other' id='x'>"
                              f"<description xmlns='{NS_RTP}' media='audio'/></propose>"
                              "<retract id='x'/>"))  # jabber:client's, not XEP-0353's
    assert plugin.received == []


def test_only_the_jingle_messages_are_passed_on() -> None:
    jingle, plugin = handler()
    jingle.on_message(message(f"<body>call</body><propose xmlns='{NS_JINGLE_MESSAGE}' id='s1'>"
                              f"<description xmlns='{NS_RTP}' media='audio'/></propose>"
                              f"<store xmlns='urn:xmpp:hints'/><unknown xmlns='{NS_JINGLE_MESSAGE}' id='s1'/>"))
    assert plugin.received == [("carol@localhost/phone", NS_JINGLE_MESSAGE, "propose")]


def test_a_carbon_of_another_namespace_does_not_stop_the_ringing() -> None:
    jingle, plugin = handler()
    forwarded = ("<proceed xmlns='urn:example:other' id='s1'/>"
                 f"<reject xmlns='{NS_JINGLE_MESSAGE}' id='s1'/>")
    jingle.on_sent_carbon(message(
        f"<sent xmlns='{NS_CARBONS}'><forwarded xmlns='urn:xmpp:forward:0'>"
        f"<message xmlns='jabber:client' from='bob@localhost/other' to='carol@localhost'>{forwarded}</message>"
        "</forwarded></sent>", sender="bob@localhost"))
    assert plugin.elsewhere == [(NS_JINGLE_MESSAGE, "reject")]


def test_children_in_document_order() -> None:
    element = message(f"<ringing xmlns='{NS_JINGLE_MESSAGE}' id='a'/><finish xmlns='{NS_JINGLE_MESSAGE}' id='b'/>")
    assert [(child.name, child["id"]) for child in jingle_message_children(element)] == [("ringing", "a"), ("finish", "b")]


# the ring timeout's timers, on a fake clock ---------------------------------------------


def timers(clock: Clock, timeout: float = 60.0) -> RingTimers:
    return RingTimers(lambda: clock, lambda: timeout)


def test_an_unanswered_call_times_out_once() -> None:
    clock, fired = Clock(), []
    ringing = timers(clock)
    ringing.start("alice", "s1", lambda: fired.append("s1"))
    clock.advance(59.9)
    assert fired == [] and len(ringing) == 1
    clock.advance(0.1)
    assert fired == ["s1"] and len(ringing) == 0
    clock.advance(120)
    assert fired == ["s1"]


def test_an_answered_call_does_not_time_out() -> None:
    clock, fired = Clock(), []
    ringing = timers(clock, 5)
    ringing.start("alice", "s1", lambda: fired.append("s1"))
    ringing.start("bob", "s1", lambda: fired.append("bob's s1"))  # another profile's call, same sid
    ringing.cancel("alice", "s1")
    ringing.cancel("alice", "never-started")
    clock.advance(5)
    assert fired == ["bob's s1"] and len(ringing) == 0


def test_starting_again_replaces_the_timer() -> None:
    clock, fired = Clock(), []
    ringing = timers(clock, 5)
    ringing.start("alice", "s1", lambda: fired.append("first"))
    clock.advance(4)
    ringing.start("alice", "s1", lambda: fired.append("second"))
    clock.advance(4)
    assert fired == []
    clock.advance(1)
    assert fired == ["second"]


def test_reasons_go_in_the_xep_0166_namespace() -> None:
    """XEP-0353 v0.7.0+: retract, reject and finish carry a Jingle ``<reason/>``."""
    client = FakeClient()
    client.jid = JID("alice@localhost/desk")  # type: ignore[assignment]
    message, child = JingleMessageInitiation._jingle_message(client, "bob@localhost", "s1", "retract",  # type: ignore[arg-type]
                                                              "timeout")
    assert child.toXml() == (f"<retract xmlns='{NS_JINGLE_MESSAGE}' id='s1'>"
                             "<reason xmlns='urn:xmpp:jingle:1'><timeout/></reason></retract>")
    assert (message["to"], message["type"]) == ("bob@localhost", "chat")
    assert parse_reason(child) == "timeout"
