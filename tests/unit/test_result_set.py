"""XEP-0059 paging over a list held in full (cache rows, or an answer without RSM)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from twisted.words.xish import domish

from sat_backend.core.exceptions import NotFound
from sat_backend.core.result_set import PageRequest, page_bounds, page_locally, rsm_answer

NAMES = [f"i{n:02d}" for n in range(60)]  # oldest first


@pytest.mark.parametrize(("arguments", "bounds"), [
    ((10, "i09", None, None), (10, 20)),
    ((10, "", None, None), (0, 10)),
    ((10, "i55", None, None), (56, 60)),
    ((10, None, "i20", None), (10, 20)),
    ((10, None, "i05", None), (0, 5)),
    ((10, None, "", None), (50, 60)),
    ((10, None, None, 25), (25, 35)),
    ((10, None, None, 100), (60, 60)),
    ((10, None, None, None), (50, 60)),
    ((0, "i49", None, None), (50, 60)),
    ((0, None, None, None), (0, 60)),
])
def test_page_bounds(arguments: tuple[int, str | None, str | None, int | None], bounds: tuple[int, int]) -> None:
    assert page_bounds(NAMES, *arguments) == bounds


def test_unknown_anchor_is_not_found() -> None:
    for after, before in (("nope", None), (None, "nope")):
        with pytest.raises(NotFound, match="item-not-found"):
            page_bounds(NAMES, 10, after, before)


def test_a_page_request_needs_only_the_count_and_its_anchors_positions() -> None:
    """What the cache's SQL gives (a COUNT, the anchor's position), not the list."""
    assert PageRequest.from_rsm({}, 10) == PageRequest(10)
    assert PageRequest.from_rsm({"max": 10, "after": "x"}, 10).bounds(60, {"x": 9}) == (10, 20)
    assert PageRequest.from_rsm({"max": 0, "before": "x"}, 10).bounds(60, {"x": 30}) == (0, 0)
    assert PageRequest(5, after="", before="y").anchors == {"y"}
    with pytest.raises(NotFound, match="item-not-found"):
        PageRequest(5, before="y").bounds(60, {})
    assert rsm_answer(["a", "b"], 3, None) == {"first": "a", "last": "b"}
    assert rsm_answer([], 3, 3) == {"index": 3, "count": 3}


def test_page_of_the_whole_list() -> None:
    page = page_locally(NAMES, {"max": 10, "after": "i09"}, 10, whole=True)
    assert (page.start, page.end, page.complete) == (10, 20, False)
    assert page.rsm == {"first": "i10", "last": "i19", "index": 10, "count": 60}
    assert page_locally(NAMES, {"max": 100, "index": 0}, 10, whole=True).complete is True
    assert page_locally(NAMES, {"after": "i49"}, 10, whole=True).rsm == {
        "first": "i50", "last": "i59", "index": 50, "count": 60}  # default page size
    last = page_locally(NAMES, {"max": 10, "before": ""}, 10, whole=True)
    assert (last.rsm["first"], last.rsm["last"], last.complete) == ("i50", "i59", False)


def test_count_only_and_empty_pages() -> None:
    count_only = page_locally(NAMES, {"max": 0}, 10, whole=True)
    assert (count_only.start, count_only.end, count_only.rsm) == (0, 0, {"index": 0, "count": 60})
    beyond = page_locally(NAMES, {"max": 5, "index": 70}, 10, whole=True)
    assert beyond.end == beyond.start and beyond.rsm == {"index": 60, "count": 60} and not beyond.complete
    empty = page_locally([], {"max": 5}, 10, whole=True)
    assert empty.rsm == {"index": 0, "count": 0} and empty.complete is True


def test_a_cut_list_gives_no_count_and_is_never_complete() -> None:
    page = page_locally(NAMES[40:], {"max": 50}, 10, whole=False)
    assert (page.start, page.end) == (0, 20)
    assert page.rsm == {"first": "i40", "last": "i59"} and page.complete is False


def request(max_items: int = 0, rsm: dict[str, object] | None = None, item_ids: list[str] | None = None) -> Any:
    from twisted.words.protocols.jabber.jid import JID

    from sat_backend.plugins.plugin_xep_0060 import ItemsRequest

    return ItemsRequest("alice", None, JID("pubsub.example.org"), "n", max_items, item_ids or [], None, rsm or {},
                        None, False)


def items(names: list[str]) -> list[domish.Element]:
    elements = []
    for name in names:
        element = domish.Element(("http://jabber.org/protocol/pubsub", "item"))
        element["id"] = name
        elements.append(element)
    return elements


def test_answer_without_rsm_paged_locally() -> None:
    from sat_backend.plugins.plugin_xep_0060 import _paged_locally

    result = _paged_locally(request(rsm={"max": 10, "after": "i09"}), items(NAMES))
    assert [re.search(r"id=[\'\"]([^\'\"]+)", xml).group(1) for xml in result.items] == NAMES[10:20]  # type: ignore[union-attr]
    assert result.rsm == {"first": "i10", "last": "i19", "index": 10, "count": 60} and result.complete is False
    assert _paged_locally(request(rsm={"max": 100}), items(NAMES)).complete is True
    cut = _paged_locally(request(max_items=20, rsm={"max": 100}), items(NAMES[40:]))
    assert len(cut.items) == 20 and cut.complete is False and "count" not in cut.rsm
    short = _paged_locally(request(max_items=100, rsm={"max": 100}), items(NAMES))
    assert short.complete is True and short.rsm["count"] == 60  # fewer than max_items: the whole node
    missing = _paged_locally(request(rsm={"max": 10}, item_ids=["i01", "gone"]), items(["i01"]))
    assert missing.complete is False


def test_completeness_of_answers_from_services_that_honour_rsm() -> None:
    from sat_backend.plugins.plugin_xep_0060 import _is_complete

    assert _is_complete(request(rsm={"max": 10}), 10, {"first": "a", "last": "b", "index": 0, "count": 10}) is True
    assert _is_complete(request(rsm={"max": 10}), 10, {"first": "a", "last": "b", "index": 0, "count": 60}) is False
    assert _is_complete(request(rsm={"max": 10, "index": 50}), 10, {"index": 50, "count": 60}) is False
    assert _is_complete(request(rsm={"max": 10}), 10, {"first": "a", "last": "b"}) is False
    assert _is_complete(request(max_items=5), 5, {}) is False and _is_complete(request(max_items=5), 4, {}) is True
