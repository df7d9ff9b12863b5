"""Ranked ``PsCacheSearch`` pages on real databases equal a full ranking of every match.

The search picks a page's ids by a top-k on the full-text index (issue 14) and reads the
rows of that page only; here the reference ranks *all* matches with the database's own
scoring function (bm25 on SQLite, ts_rank on PostgreSQL), sorts them in Python (best
first, ties by item row id), and every page, in both directions, with and without the
node, name and parsed filters that make a pure top-k impossible, must be its slice.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from sat_backend.memory.pubsub_fts import FTS_TABLE, ITEMS_TABLE, PG_VECTOR
from sat_backend.memory.pubsub_search import SearchQuery, search
from sat_backend.memory.sqla import Storage
from tests.fixtures.postgres import PostgresCluster
from tests.integration.test_pubsub_search_storage import add_items, add_node, atom
from tests.integration.test_storage import run_with_storage

PAGE = 7
#: texts repeated on purpose: equal texts rank equal, so ties must be broken the same way
TEXTS = ("garden", "garden garden", "garden and a long text about other things entirely",
         "garden path garden gate", "garden", "no match here", "a garden", "garden garden")


async def full_ranking(storage: Storage, where: str = "", best_first: bool = True, **parameters: Any) -> list[str]:
    """Every item matching "garden", best (or worst) first, ties by row id: no LIMIT anywhere."""
    if storage.is_sqlite:
        sql = (f"SELECT i.name, -bm25({FTS_TABLE}) AS score, i.id FROM {ITEMS_TABLE} AS i "
               f"JOIN {FTS_TABLE} ON {FTS_TABLE}.rowid = i.id WHERE {FTS_TABLE} MATCH '\"garden\"'")
    else:
        query = "to_tsquery('simple', '''garden''')"
        sql = (f"SELECT i.name, ts_rank(i.{PG_VECTOR}, {query}, 1) AS score, i.id FROM {ITEMS_TABLE} AS i "
               f"WHERE i.{PG_VECTOR} @@ {query}")
    sql += f" AND i.node_id IN (SELECT id FROM pubsub_nodes WHERE {where})" if where else ""
    async with storage.session() as session:
        rows = (await session.execute(text(sql), parameters)).all()
    sign = -1 if best_first else 1
    return [row.name for row in sorted(rows, key=lambda row: (sign * row.score, row.id))]


async def pages(storage: Storage, **keys: Any) -> list[list[str]]:
    """Every page of PAGE results until an empty one (bounded: 20 pages at most)."""
    found: list[list[str]] = []
    for index in range(0, 20 * PAGE, PAGE):
        query = SearchQuery.from_json(json.dumps({"fts": "garden", "index": index, "limit": PAGE, **keys}))
        page = [hit.item_id for hit in await search(storage, query)]
        found.append(page)
        if not page:
            break
    return found


def test_every_ranked_page_is_a_slice_of_the_full_ranking(database_url: str) -> None:
    async def scenario(storage: Storage) -> None:
        blog = await add_node(storage, "alice", "blog")
        other = await add_node(storage, "bob", "notes")
        for node, prefix in ((blog, "b"), (other, "o")):
            await add_items(storage, node, [
                (f"{prefix}{n:02d}", atom(f"{prefix}{n:02d}", TEXTS[n % len(TEXTS)]), {"n": n}) for n in range(40)])
        everything = await full_ranking(storage)
        assert len(everything) == 70  # 35 matches per node
        found = await pages(storage)
        assert len(found) == 11 and all(len(page) == PAGE for page in found[:10]) and found[10] == []
        assert sum(found, []) == everything
        explicit = await pages(storage, **{"order-by": [{"order": "rank"}]})
        assert explicit == found
        ascending = await pages(storage, **{"order-by": [{"order": "rank", "direction": "asc"}]})
        # worst first, ties still by row id: not simply the reverse
        assert sum(ascending, []) == await full_ranking(storage, best_first=False)
        in_blog = await full_ranking(storage, "name = :node", node="blog")
        assert sum(await pages(storage, nodes=["blog"]), []) == in_blog
        assert sum(await pages(storage, profiles=["alice"]), []) == in_blog
        names = [f"b{n:02d}" for n in range(0, 40, 3)]
        assert sum(await pages(storage, names=names), []) == [name for name in everything if name in names]
        even = [name for name in everything if int(name[1:]) % 2 == 0]
        assert sum(await pages(storage, parsed=[{"path": ["n"], "op": "in", "value": list(range(0, 40, 2))}]),
                   []) == even

    run_with_storage(database_url, scenario)



def test_postgresql_plans_each_search_with_its_words(postgres_cluster: PostgresCluster) -> None:
    """asyncpg prepares each statement; after five runs PostgreSQL may switch to a
    *generic* plan, made without the bound words and page size: a third ranked page of a
    common word at 100k items took ≈160 ms instead of ≈65 (issue 14). Every search is
    planned with its values."""

    async def scenario(storage: Storage) -> list[tuple[int, int]]:
        node = await add_node(storage, "alice", "blog")
        await add_items(storage, node, [(f"i{n:03d}", atom(f"i{n:03d}", TEXTS[n % len(TEXTS)]), {"n": n})
                                        for n in range(400)])
        async with storage.session() as session:
            await session.execute(text("ANALYZE"))
        for _ in range(8):
            assert len(await pages(storage)) > 1
        async with storage.session() as session:
            plans = await session.execute(text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%ts_rank%' AND statement NOT LIKE '%pg_prepared_statements%'"))
            return [(row.generic_plans, row.custom_plans) for row in plans]

    plans = run_with_storage(postgres_cluster.create_database(), scenario)
    assert plans and sum(custom for _, custom in plans) >= 8 * 20  # 8 times every page (40 matches a page)
    assert sum(generic for generic, _ in plans) == 0, plans
