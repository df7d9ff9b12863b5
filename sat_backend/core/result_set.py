"""XEP-0059 (Result Set Management, v1.0) paging over a list we hold in full.

Two places hold a whole result set and must page it themselves: the pubsub cache (its
rows) and the network path when a service ignores RSM on items (Prosody 0.12 answers
with every item, or ``max_items`` of them, and no ``<set/>``). One implementation, so
that both answer a request alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from sat_backend.core.exceptions import NotFound


def page_bounds(names: Sequence[str], max_items: int, after: str | None = None, before: str | None = None,
                index: int | None = None) -> tuple[int, int]:
    """``(start, end)`` of the page of ``names`` (oldest first) a request asks for.

    ``after``/``before`` (``""`` = from the start / up to the end) and ``index`` page
    through; ``max_items`` (0 = no limit) bounds the page; with none of the three, the
    ``max_items`` most recent (XEP-0060 §6.5.7).

    :raises NotFound: ``after``/``before`` names no item of the list.
    """
    count = len(names)
    for anchor in (after, before):
        if anchor and anchor not in names:
            raise NotFound(f"item-not-found: no item {anchor!r} to page from")
    if after is not None:
        start = names.index(after) + 1 if after else 0
        end = min(count, start + max_items) if max_items else count
    elif before is not None:
        end = names.index(before) if before else count
        start = max(0, end - max_items) if max_items else 0
    elif index is not None:
        start = min(index, count)
        end = min(count, start + max_items) if max_items else count
    else:
        end = count
        start = max(0, count - max_items) if max_items else 0
    return start, end


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
    size = rsm.get("max", page_size)
    start, end = page_bounds(names, size, rsm.get("after"), rsm.get("before"), rsm.get("index"))
    if size == 0 and "max" in rsm:  # XEP-0059 §2.6: max 0 asks for the count only
        end = start
    answer: dict[str, Any] = {}
    if end > start:
        answer.update(first=names[start], last=names[end - 1])
    if whole:
        answer.update(index=start, count=len(names))
    return LocalPage(start, end, answer, complete=whole and start == 0 and end == len(names))
