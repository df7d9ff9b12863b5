"""XEP-0353's stanza handler, without a stream: which children of a message it takes for
Jingle messages (the namespace and the name both count)."""

from __future__ import annotations

from typing import Any

from twisted.words.xish import domish

from sat_backend.core.xml_payloads import payload_element
from sat_backend.plugins.plugin_xep_0353 import NS_JINGLE_MESSAGE, JingleMessageHandler, jingle_message_children

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
