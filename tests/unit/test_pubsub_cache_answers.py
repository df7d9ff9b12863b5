"""The encoded pages kept in memory (``pubsub_cache_answers``): served again while their
node is unchanged, bounded by bytes (least recently used out first, a page too large
never kept), dropped by a write of their node (or of all nodes), and never kept by a read
that a write overlapped. Reads are stub coroutines released by events: no database."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from sat_backend.core.result_set import PageRequest
from sat_backend.memory.pubsub_cache_answers import MAX_PAGE_SHARE, PageAnswers, page_bytes
from sat_backend.memory.pubsub_cache_pages import EncodedPage

REQUEST = PageRequest(0)


def page(text: str, size: int = 10) -> EncodedPage:
    return EncodedPage(f'["{text}{"x" * size}"]', [text, text], 0, 1, 1)


class Reads:
    """Stub reads: each returns the next page, and counts itself."""

    def __init__(self, *pages: EncodedPage | None) -> None:
        self.pages = list(pages)
        self.count = 0

    async def __call__(self) -> EncodedPage | None:
        self.count += 1
        return self.pages.pop(0)


class SlowRead:
    """A read that returns ``page("old")`` once released."""

    def __init__(self) -> None:
        self.released = asyncio.Event()

    async def __call__(self) -> EncodedPage:
        await self.released.wait()
        return page("old")


def run(coroutine: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coroutine())  # type: ignore[arg-type]


def test_a_page_read_once_is_served_again_without_reading() -> None:
    async def scenario() -> None:
        answers, reads = PageAnswers(), Reads(page("a"))
        first = await answers.get(1, REQUEST, reads)
        assert await answers.get(1, REQUEST, reads) is first
        assert await answers.get(1, PageRequest(0), reads) is first  # an equal request is the same key
        assert (reads.count, answers.hits, answers.misses) == (1, 2, 1)

    run(scenario)


def test_every_field_of_the_request_and_the_node_are_in_the_key() -> None:
    async def scenario() -> None:
        answers = PageAnswers()
        requests = [PageRequest(0), PageRequest(10), PageRequest(10, after=""), PageRequest(10, before=""),
                    PageRequest(10, index=0), PageRequest(0, count_only=True), PageRequest(10, after="x")]
        reads = Reads(*(page(str(n)) for n in range(len(requests) + 1)))
        for request in requests:
            await answers.get(1, request, reads)
        await answers.get(2, requests[0], reads)
        assert reads.count == len(requests) + 1 and len(answers) == len(requests) + 1

    run(scenario)


def test_a_stale_order_is_not_kept() -> None:
    async def scenario() -> None:
        answers, reads = PageAnswers(), Reads(None, page("a"))
        assert await answers.get(1, REQUEST, reads) is None
        assert await answers.get(1, REQUEST, reads) is not None and reads.count == 2

    run(scenario)


def test_the_byte_bound_drops_the_least_recently_used() -> None:
    async def scenario() -> None:
        size = page_bytes(page("n1", 1000))
        answers = PageAnswers(max_bytes=MAX_PAGE_SHARE * size)  # room for MAX_PAGE_SHARE pages
        nodes = list(range(1, MAX_PAGE_SHARE + 1))
        for node in nodes:
            await answers.get(node, REQUEST, Reads(page(f"n{node}", 1000)))
        await answers.get(1, REQUEST, Reads())  # used: 2 is now the oldest
        await answers.get(99, REQUEST, Reads(page("n99", 1000)))
        assert answers.kept_bytes <= answers.max_bytes and len(answers) == MAX_PAGE_SHARE
        reads = Reads(page("n2", 1000))
        await answers.get(2, REQUEST, reads)
        assert reads.count == 1  # dropped, read again (and 3 dropped for it)
        for node in (1, 99, *nodes[3:]):
            await answers.get(node, REQUEST, Reads())  # still kept: no read needed
        reads = Reads(page("n3", 1000))
        await answers.get(3, REQUEST, reads)
        assert reads.count == 1


def test_a_page_over_its_share_of_the_bound_is_served_and_not_kept() -> None:
    async def scenario() -> None:
        large = page("big", 4000)
        answers = PageAnswers(max_bytes=page_bytes(large) * MAX_PAGE_SHARE - 1)
        reads = Reads(large, large)
        assert await answers.get(1, REQUEST, reads) is large
        assert await answers.get(1, REQUEST, reads) is large
        assert reads.count == 2 and answers.kept_bytes == 0

    run(scenario)


def test_a_write_drops_its_nodes_pages_and_only_them() -> None:
    async def scenario() -> None:
        answers = PageAnswers()
        await answers.get(1, REQUEST, Reads(page("old")))
        await answers.get(2, REQUEST, Reads(page("other")))
        with answers.writing([1]):
            reads = Reads(page("during"))
            assert (await answers.get(1, REQUEST, reads)).items_json.startswith('["during')  # type: ignore[union-attr]
            assert len(answers) == 1  # read in the write: not kept
        reads = Reads(page("new"))
        assert (await answers.get(1, REQUEST, reads)).edges == ["new", "new"]  # type: ignore[union-attr]
        await answers.get(2, REQUEST, Reads())  # node 2 untouched
        with answers.writing(None):
            pass
        assert len(answers) == 0 and answers.kept_bytes == 0

    run(scenario)


def test_a_read_a_write_overlapped_keeps_nothing() -> None:
    """Begun before the write, ended after it (its rows may be the old ones); begun
    before and ended during it; for one node and for a write of every node."""

    async def scenario() -> None:
        for nodes in ([1], None):
            for ends_during in (False, True):
                answers, slow_read = PageAnswers(), SlowRead()
                reading = asyncio.ensure_future(answers.get(1, REQUEST, slow_read))
                await asyncio.sleep(0)  # the read has begun
                with answers.writing(nodes):
                    if ends_during:
                        slow_read.released.set()
                        await reading
                slow_read.released.set()
                await reading
                assert len(answers) == 0, (nodes, ends_during)
                reads = Reads(page("new"))
                await answers.get(1, REQUEST, reads)
                assert reads.count == 1 and len(answers) == 1

    run(scenario)


def test_a_write_elsewhere_keeps_a_read_of_another_node() -> None:
    async def scenario() -> None:
        answers, slow_read = PageAnswers(), SlowRead()
        reading = asyncio.ensure_future(answers.get(1, REQUEST, slow_read))
        await asyncio.sleep(0)
        answers.written([2])
        slow_read.released.set()
        await reading
        assert len(answers) == 1

    run(scenario)
