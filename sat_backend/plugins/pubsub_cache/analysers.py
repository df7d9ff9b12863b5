"""Analysers of the pubsub cache: which nodes are synchronised, and their parsers.

Any plugin registers analysers (:meth:`Analysers.register`); when a node is first read,
the first one matching, by priority then registration order, decides: none, or
``to_sync`` false → not synchronised. A parser's data is served only when the node was
synchronised with the parser's current version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from sat_backend.core.exceptions import Conflict
from sat_backend.core.received_item import Parser, ReceivedItem
from sat_backend.memory.pubsub_cache_values import CachedNode

log = logging.getLogger(__name__)

MatchCallback = Callable[[str, str | None], bool]


@dataclass(frozen=True)
class Analyser:
    """A registered kind of node (see :meth:`Analysers.register`)."""

    name: str
    type: str
    node: str | None
    namespace: str | None
    to_sync: bool
    parser: Parser | None
    match_cb: MatchCallback | None
    priority: int
    order: int
    #: stored as the node's ``subtype`` (e.g. ``comment`` for blog comment nodes)
    subtype: str | None = None
    #: of the parser's output, recorded at each sync; a node synchronised with another one
    #: is served without its parsed data and synchronised again (every item re-parsed)
    parser_version: int = 0

    def matches(self, node: str, namespace: str | None) -> bool:
        """The node prefix and payload namespace, where given, match; then ``match_cb``."""
        if self.node is not None and not node.startswith(self.node):
            return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        return self.match_cb(node, namespace) if self.match_cb is not None else True


class Analysers(dict[str, Analyser]):
    """The registry, by analyser name."""

    def register(
        self, name: str, type: str, *, node: str | None = None, namespace: str | None = None,
        to_sync: bool = False, parser: Parser | None = None, match_cb: MatchCallback | None = None,
        priority: int = 0, subtype: str | None = None, parser_version: int = 0,
    ) -> None:
        """Declare how to recognise a kind of node (by name prefix and/or payload namespace).

        :raises Conflict: an analyser with this name exists.
        :raises ValueError: neither ``node`` nor ``namespace`` is given.
        """
        if name in self:
            raise Conflict(f"an analyser named {name!r} is already registered")
        if node is None and namespace is None:
            raise ValueError("an analyser needs a node prefix, a namespace, or both")
        self[name] = Analyser(name, type, node, namespace, to_sync, parser, match_cb, priority, len(self),
                              subtype, parser_version)

    def find(self, node: str, namespace: str | None) -> Analyser | None:
        """The first analyser matching, by priority then registration order."""
        for analyser in sorted(self.values(), key=lambda a: (-a.priority, a.order)):
            try:
                if analyser.matches(node, namespace):
                    return analyser
            except Exception:  # noqa: BLE001 - a broken match_cb means "no match", not a crash
                log.exception("analyser %s failed", analyser.name)
        return None

    def of(self, node: CachedNode) -> Analyser | None:
        return self.get(node.analyser or "")

    def read_item(self, xml: str, analyser: Analyser | None) -> ReceivedItem:
        """An item a sync received, read once, with the analyser's parser if any."""
        return ReceivedItem.from_xml(xml, *parser_of(analyser))

    def current_parser(self, node: CachedNode) -> str | None:
        """The node's analyser, when its items' parsed data is that of its parser as it is
        now: the node was last synchronised with this parser version."""
        analyser = self.of(node)
        if analyser is None or analyser.parser is None:
            return None
        return analyser.name if node.parser_version == analyser.parser_version else None

    def stale_parsed(self, node: CachedNode) -> bool:
        analyser = self.of(node)
        return analyser is not None and analyser.parser is not None and self.current_parser(node) is None


def parser_of(analyser: Analyser | None) -> tuple[Parser | None, str]:
    """The analyser's parser and its name, for :class:`ReceivedItem`."""
    return (analyser.parser, analyser.name) if analyser is not None else (None, "")
