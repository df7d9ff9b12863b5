"""``PsItemsGet`` with RSM against Prosody 0.12, which ignores RSM on items (it answers with
every item, or ``max_items``, and no ``<set/>``): the backend pages locally over that
answer. The cache is bypassed (``use_cache: false``) so every request reaches the service."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Iterator

import pytest

from sat_bridge import errors
from sat_bridge.client import BridgeClient
from tests.fixtures.backend import BackendProcess
from tests.fixtures.prosody import ProsodyServer
from tests.integration.xmpp_helpers import connected_profile

SERVICE = "pubsub.localhost"
IDS = [f"p{n:02d}" for n in range(60)]  # publication order, oldest first


@pytest.fixture
def alice(backend: BackendProcess, prosody: ProsodyServer) -> Iterator[BridgeClient]:
    with connected_profile(backend, prosody, "alice") as client:
        yield client


@pytest.fixture
def node(alice: BridgeClient) -> Iterator[str]:
    name = f"paging-{uuid.uuid4().hex[:8]}"
    alice.ps_node_create(SERVICE, name, json.dumps({"pubsub#max_items": "max"}), "alice")
    for item_id in IDS:
        alice.ps_item_send(SERVICE, name, f"<n xmlns='urn:example:paging'>{item_id}</n>", item_id, "{}", "alice")
    yield name
    alice.ps_node_delete(SERVICE, name, "alice")


def get(client: BridgeClient, node: str, max_items: int = 0, **rsm: Any) -> dict[str, Any]:
    extra = {"use_cache": False, **{f"rsm_{key}": value for key, value in rsm.items()}}
    result: dict[str, Any] = json.loads(client.ps_items_get(SERVICE, node, max_items, [], "", json.dumps(extra),
                                                            "alice"))
    assert result["cached"] is False
    return result


def ids(result: dict[str, Any]) -> list[str]:
    """The payload texts (= item ids) of the answer, in its order."""
    return [match.group(1) for xml in result["items"] if (match := re.search(r">(p\d\d)</n>", xml))]


def test_pages_after_before_and_by_index(alice: BridgeClient, node: str) -> None:
    after = get(alice, node, max=10, after="p09")
    assert ids(after) == IDS[10:20]
    assert after["rsm"] == {"first": "p10", "last": "p19", "index": 10, "count": 60}
    assert after["complete"] is False

    before = get(alice, node, max=10, before="p20")
    assert ids(before) == IDS[10:20] and before["rsm"]["index"] == 10
    last = get(alice, node, max=10, before="")
    assert ids(last) == IDS[50:] and last["rsm"] == {"first": "p50", "last": "p59", "index": 50, "count": 60}
    by_index = get(alice, node, max=10, index=55)
    assert ids(by_index) == IDS[55:] and by_index["rsm"]["index"] == 55 and by_index["complete"] is False

    everything = get(alice, node, max=100)
    assert ids(everything) == IDS and everything["complete"] is True and everything["rsm"]["count"] == 60
    count_only = get(alice, node, max=0)
    assert count_only["items"] == [] and count_only["rsm"] == {"index": 0, "count": 60}


def test_walking_every_page(alice: BridgeClient, node: str) -> None:
    seen: list[str] = []
    page = get(alice, node, max=25, after="")
    for _ in range(10):  # bounded: 60 items are 3 pages
        seen.extend(ids(page))
        if page["rsm"]["index"] + len(page["items"]) >= page["rsm"]["count"]:
            break
        page = get(alice, node, max=25, after=page["rsm"]["last"])
    assert seen == IDS


def test_a_list_cut_by_max_items_is_partial(alice: BridgeClient, node: str) -> None:
    cut = get(alice, node, max_items=20, max=5, after="p44")
    assert ids(cut) == IDS[45:50]
    assert cut["rsm"] == {"first": "p45", "last": "p49"} and cut["complete"] is False
    with pytest.raises(errors.NotFound, match="item-not-found"):
        get(alice, node, max_items=20, max=5, after="p10")  # not among the 20 the service sent


def test_order_by_is_sent_and_paging_still_works(alice: BridgeClient, node: str) -> None:
    result = json.loads(alice.ps_items_get(SERVICE, node, 0, [], "", json.dumps(
        {"use_cache": False, "order_by": "modification", "rsm_max": 10, "rsm_after": "p29"}), "alice"))
    assert ids(result) == IDS[30:40]  # Prosody 0.12 ignores order-by: publication order


def test_bad_paging_requests(alice: BridgeClient, node: str) -> None:
    with pytest.raises(errors.NotFound, match="item-not-found"):
        get(alice, node, max=10, after="no-such-item")
    for rsm in ({"after": "p01", "index": 3}, {"before": "p01", "after": "p02"}, {"index": -1}, {"max": 2.5}):
        with pytest.raises(errors.InvalidArgument):
            get(alice, node, **rsm)


@pytest.mark.parametrize("max_items, rsm", [
    (0, {"max": 10, "after": "p09"}), (0, {"after": "p49"}), (0, {"before": ""}), (0, {"max": 7, "before": "p20"}),
    (0, {"max": 3, "index": 58}), (0, {"max": 0}), (0, {"max": 100}), (5, {}), (0, {}),
])
def test_the_cache_pages_a_request_as_the_service_path_does(alice: BridgeClient, node: str, max_items: int,
                                                               rsm: dict[str, Any]) -> None:
    """One request, one page, from the service or from the cache (rsm_max absent: the
    same default page size on both paths)."""
    service = get(alice, node, max_items, **rsm)
    alice.ps_cache_sync(SERVICE, node, "alice")
    extra = json.dumps({f"rsm_{key}": value for key, value in rsm.items()})
    cached = json.loads(alice.ps_cache_get(SERVICE, node, max_items, [], "", extra, "alice"))
    assert cached["cached"] is True
    assert (ids(cached), cached["complete"]) == (ids(service), service["complete"])
    if rsm:  # without RSM the service gives no <set/>; the cache still counts
        assert cached["rsm"] == service["rsm"]
