"""Twisted's ``Element.elements(uri)`` without a name yields every child element,
whatever its namespace: the handlers that pick children by namespace check it
themselves (a chat message's ``<body/>`` is no Jingle message, a ``<feature/>`` of
another namespace no disco feature)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from twisted.words.xish import domish

from sat_backend.plugins.plugin_xep_0030 import NS_DISCO_INFO, DiscoInfo
from sat_backend.plugins.jingle.message_handler import JingleMessageHandler
from sat_backend.plugins.plugin_xep_0353 import NS_JINGLE_MESSAGE


def test_a_chat_message_reaches_no_jingle_message_code() -> None:
    seen: list[tuple[str | None, str]] = []
    plugin: Any = SimpleNamespace(on_jingle_message=lambda client, sender, child: seen.append((sender, child.name)))
    handler = JingleMessageHandler(plugin, SimpleNamespace(profile="alice"))  # type: ignore[arg-type]
    message = domish.Element(("jabber:client", "message"))
    message["from"] = "bob@example.org/phone"
    message.addElement("body", content="hi")
    message.addElement(("urn:example:other", "reject"))
    handler.on_message(message)
    assert seen == []
    message.addElement((NS_JINGLE_MESSAGE, "reject"))["id"] = "s1"
    handler.on_message(message)
    assert seen == [("bob@example.org/phone", "reject")]


def test_disco_info_keeps_only_its_own_namespace() -> None:
    query = domish.Element((NS_DISCO_INFO, "query"))
    query.addElement("feature")["var"] = "urn:ours"
    query.addElement(("urn:example:other", "feature"))["var"] = "urn:not-a-feature"
    identity = query.addElement("identity")
    identity["category"], identity["type"] = "client", "pc"
    info = DiscoInfo.from_query(query)
    assert info.features == frozenset({"urn:ours"})
    assert [(category, kind) for category, kind, _, _ in info.identities] == [("client", "pc")]
