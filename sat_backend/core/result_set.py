"""XEP-0059 (Result Set Management, v1.0) paging over a result set we hold in full.

Two places hold a whole result set and must page it themselves: the pubsub cache (its
rows, paged in SQL by :mod:`sat_backend.memory.pubsub_cache_pages`) and the network path
when a service ignores RSM on items (Prosody 0.12 answers with every item, or
``max_items`` of them, and no ``<set/>``, paged here as a list). One set of rules
(:class:`PageRequest`), so that both answer a request alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sat_backend.core.exceptions import NotFound


@dataclass(frozen=True)
class PageRequest:
    """What a request asks of an ordered result set (oldest first), whoever holds it.

    ``after``/``before`` (``""`` = from the start / up to the end) and ``index`` page
    through; ``size`` (0 = no limit) bounds the page; with none of the three, the
    ``size`` most recent (XEP-0060 §6.5.7). ``count_only``: XEP-0059 §2.6, ``max`` 0.
    """

    size: int
    after: str | None = None
    before: str | None = None
    index: int | None = None
    count_only: bool = False

    @classmethod
    def from_rsm(cls, rsm: dict[str, Any], page_size: int) -> PageRequest:
        """The request of an RSM ``<set/>`` (``max``/``after``/``before``/``index`` keys).

        :param page_size: the page size when ``rsm`` has no ``max``.
        """
        size = rsm.get("max", page_size)
        return cls(size, rsm.get("after"), rsm.get("before"), rsm.get("index"), count_only=size == 0 and "max" in rsm)

    @property
    def anchors(self) -> set[str]:
        """The item ids the page is anchored on (whose positions :meth:`bounds` needs)."""
        return {anchor for anchor in (self.after, self.before) if anchor}

    def bounds(self, count: int, positions: Mapping[str, int]) -> tuple[int, int]:
        """``(start, end)`` of the page in a result set of ``count`` items.

        :param positions: the position of each of :attr:`anchors` found in the set;
            the holder finds them (a list index, an SQL count), this decides the page.
        :raises NotFound: an anchor names no item of the set.
        """
        for anchor in self.anchors:
            if anchor not in positions:
                raise NotFound(f"item-not-found: no item {anchor!r} to page from")
        if self.after is not None:
            start = positions[self.after] + 1 if self.after else 0
            end = min(count, start + self.size) if self.size else count
        elif self.before is not None:
            end = positions[self.before] if self.before else count
            start = max(0, end - self.size) if self.size else 0
        elif self.index is not None:
            start = min(self.index, count)
            end = min(count, start + self.size) if self.size else count
        else:
            end = count
            start = max(0, count - self.size) if self.size else 0
        return start, (start if self.count_only else end)


def page_bounds(names: Sequence[str], max_items: int, after: str | None = None, before: str | None = None,
                index: int | None = None) -> tuple[int, int]:
    """``(start, end)`` of the page of ``names`` (oldest first) a request asks for
    (:class:`PageRequest` of ``max_items`` and the anchors).

    :raises NotFound: ``after``/``before`` names no item of the list.
    """
    request = PageRequest(max_items, after, before, index)
    return request.bounds(len(names), _positions(names, request.anchors))


def _positions(names: Sequence[str], anchors: set[str]) -> dict[str, int]:
    return {name: names.index(name) for name in anchors if name in names}


def rsm_answer(page: Sequence[str], start: int, count: int | None) -> dict[str, Any]:
    """The RSM ``<set/>`` answered for a page (its item ids) at ``start`` of a result set of
    ``count`` items (None: unknown, then ``index`` and ``count`` are left out)."""
    answer: dict[str, Any] = {}
    if page:
        answer.update(first=page[0], last=page[-1])
    if count is not None:
        answer.update(index=start, count=count)
    return answer


@dataclass(frozen=True)
class LocalPage:
    """A page cut from a list: its bounds, the RSM answer to give, and whether it holds
    the whole result set."""

    start: int
    end: int
    rsm: dict[str, Any]
    complete: bool


def page_locally(names: Sequence[str], rsm: dict[str, Any], page_size: int, whole: bool) -> LocalPage:
    """Apply an RSM request (``max``/``after``/``before``/``index`` keys) to ``names``.

    :param page_size: the page size when ``rsm`` has no ``max``.
    :param whole: ``names`` is the whole result set. When it is not (the service cut
        it to ``max_items``), ``index`` and ``count`` are unknown and left out, and the
        page is never complete.
    :raises NotFound: ``after``/``before`` names no item of the list.
    """
    request = PageRequest.from_rsm(rsm, page_size)
    start, end = request.bounds(len(names), _positions(names, request.anchors))
    answer = rsm_answer(names[start:end], start, len(names) if whole else None)
    return LocalPage(start, end, answer, complete=whole and start == 0 and end == len(names))
