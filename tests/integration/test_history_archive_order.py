"""Messages of one second stay in the archive's order whichever path stored them first
(memory/history_order.py), on SQLite and PostgreSQL: a message that reached us only
through the archive is stored by the catch-up after later ones of its second came live."""

from __future__ import annotations

from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.history_order import ArchivedMessage, CatchUpOrder, follow_archive_order
from sat_backend.memory.history_query import HistoryQuery
from sat_backend.memory.sqla import Storage
from tests.integration.test_storage import run_with_storage

CAROL = "carol@localhost"
#: an archive stamped to the second
SECOND = 1_700_000_000.0


def received(body: str, timestamp: float, arrival: float, source: str = CAROL) -> HistoryEntry:
    """A received message whose archive id is its body."""
    return HistoryEntry(id=f"uid-{body}", timestamp=timestamp, source=source, dest="alice@localhost", type="chat",
                        bodies={"": body}, subjects={}, stanza_id=body, received_timestamp=arrival)


def archived(body: str, new: bool, timestamp: float = SECOND, source: str = CAROL) -> ArchivedMessage:
    return ArchivedMessage(body, source, timestamp, new)


async def history(storage: Storage) -> list[str]:
    rows = await storage.get_history("alice", HistoryQuery.from_bridge("", "", 0, False, "{}"))
    return [row.messages[0].message for row in rows]


async def store(storage: Storage, *entries: HistoryEntry) -> None:
    await storage.create_profile("alice")
    for entry in entries:
        assert await storage.add_to_history("alice", entry)


def test_a_second_is_put_in_archive_order_without_moving_other_messages(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[list[str], list[str], int, int]:
        # m1, m2 came live; m0, the archive's first of that second, only through the catch-up
        await store(storage, received("before", SECOND - 1, 5.0), received("m1", SECOND, 10.0),
                    received("m2", SECOND, 11.0), received("m0", SECOND, 12.0),
                    received("after", SECOND + 1, 1.0))
        before = await history(storage)
        page = [archived("before", False, SECOND - 1), archived("m0", True), archived("m1", False),
                archived("m2", False), archived("after", False, SECOND + 1)]
        changed = await follow_archive_order(storage, "alice", page)
        again = await follow_archive_order(storage, "alice", page)
        return before, await history(storage), changed, again

    before, after, changed, again = run_with_storage(database_url, scenario)
    assert before == ["before", "m1", "m2", "m0", "after"]
    assert after == ["before", "m0", "m1", "m2", "after"]
    assert (changed, again) == (3, 0)


def test_only_the_archive_s_own_rows_are_reordered(database_url: str) -> None:
    async def scenario(storage: Storage) -> list[str]:
        # "bob-m0" has the archive id of m0 but another sender: not the archived message;
        # "live" is not in the page: its arrival time is left as it is
        await store(storage, received("m1", SECOND, 10.0), received("live", SECOND, 10.5),
                    received("m0", SECOND, 12.0),
                    HistoryEntry(id="uid-bob", timestamp=SECOND, source="bob@localhost", dest="alice@localhost",
                                 type="chat", bodies={"": "bob-m0"}, subjects={}, stanza_id="m0",
                                 received_timestamp=9.0))
        await follow_archive_order(storage, "alice", [archived("m0", True), archived("m1", False)])
        return await history(storage)

    assert run_with_storage(database_url, scenario) == ["bob-m0", "m0", "live", "m1"]


def test_a_catch_up_reorders_across_pages_and_only_where_paths_mixed(database_url: str) -> None:
    async def scenario(storage: Storage) -> tuple[list[str], int, list[str], int]:
        await store(storage, received("p2", SECOND, 10.0), received("p3", SECOND, 11.0),
                    received("p1", SECOND, 12.0), received("q0", SECOND + 1, 20.0), received("q1", SECOND + 1, 19.0))
        order = CatchUpOrder(storage, "alice")
        order.add(archived("p0", True, SECOND - 1))  # not stored (a change): nothing to find
        order.add(archived("p1", True))
        await order.page_done()  # all stored by the catch-up, in page order: nothing to do
        first = await history(storage)
        order.add(archived("p2", False))  # the second of p1 goes on in the next page
        order.add(archived("p3", False))
        order.add(archived("q0", False, SECOND + 1))
        await order.page_done()
        reordered = order.reordered
        # all stored before the catch-up (delivery order is trusted, though arrival here
        # was made to contradict it, to see that nothing is touched)
        order.add(archived("q1", False, SECOND + 1))
        await order.page_done()
        return first, reordered, await history(storage), order.reordered

    first, reordered, last, total = run_with_storage(database_url, scenario)
    assert first == ["p2", "p3", "p1", "q1", "q0"] and reordered == 3
    assert last == ["p1", "p2", "p3", "q1", "q0"] and total == 3
