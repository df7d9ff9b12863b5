"""SQLite's ranked one-word pages scored from the term index (``pubsub_fts_bm25``, issue
14): the score is FTS5's ``bm25()`` to the last bit, for a word in most items (idf at its
floor) and for a rarer one, and pages equal FTS5's own full ranking."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select, text

from sat_backend.memory import pubsub_fts_bm25
from sat_backend.memory.pubsub_fts import FTS_TABLE, ITEMS_TABLE
from sat_backend.memory.pubsub_fts_terms import TERMS
from sat_backend.memory.pubsub_search import SearchQuery, bm25_totals
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import PubsubItem
from tests.integration.test_pubsub_search_storage import add_items, add_node, atom, ids
from tests.integration.test_storage import run_with_storage

#: "garden" in about 9 items of 10 (idf at its floor), "gate" in about 1 of 6
COMMON, RARE = "garden", "gate"


def varied_items(count: int, seed: int) -> list[tuple[str, str, dict[str, int]]]:
    """Items of 1-60 words, the two words repeated 0-7 times: many (occurrences, length)
    pairs, equal ones among them (ties), and near ones."""
    rng = random.Random(seed)
    items = []
    for n in range(count):
        words = ["filler"] * rng.randrange(0, 50)
        if rng.random() < 0.9:
            words += [COMMON] * rng.choice((1, 1, 2, 3, 5, 7))
        if rng.random() < 0.17:
            words += [RARE] * rng.choice((1, 2, 4))
        rng.shuffle(words)
        items.append((f"i{n:04d}", atom(f"i{n:04d}", " ".join(words) or "empty"), {"n": n}))
    return items


async def fts5_full_ranking(storage: Storage, word: str) -> list[tuple[str, float]]:
    """Every item with ``word``, best first by FTS5's own bm25, ties by row id."""
    async with storage.session() as session:
        rows = (await session.execute(text(
            f"SELECT i.name, -bm25({FTS_TABLE}) AS score FROM {FTS_TABLE} JOIN {ITEMS_TABLE} AS i "
            f"ON i.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH :word ORDER BY score DESC, i.id"),
            {"word": f'"{word}"'})).all()
    return [(row.name, row.score) for row in rows]


async def term_scores(storage: Storage, word: str) -> dict[str, float]:
    """Every item with ``word``, scored from the term index as the search does."""
    query = SearchQuery.from_json(f'{{"fts": "{word}"}}')
    async with storage.session() as session:
        totals = await bm25_totals(session, query)
        assert totals is not None
        score = pubsub_fts_bm25.score(totals, TERMS.c.occurrences, TERMS.c.length)
        rows = (await session.execute(
            select(PubsubItem.name, score.label("score")).select_from(TERMS).join(
                PubsubItem, PubsubItem.id == TERMS.c.item_id).where(TERMS.c.term == word))).all()
    return {row.name: row.score for row in rows}


def test_the_score_is_fts5s_bm25_to_the_last_bit(tmp_path: Path) -> None:
    async def scenario(storage: Storage) -> None:
        node = await add_node(storage, "alice", "blog")
        await add_items(storage, node, varied_items(600, seed=28))
        for word in (COMMON, RARE):
            expected = dict(await fts5_full_ranking(storage, word))
            assert 50 < len(expected) < 600
            scores = await term_scores(storage, word)
            assert scores.keys() == expected.keys(), word
            different = {name: (scores[name], expected[name]) for name in expected if scores[name] != expected[name]}
            assert not different, (word, list(different.items())[:5])
            async with storage.session() as session:
                totals = await bm25_totals(session, SearchQuery.from_json(f'{{"fts": "{word}"}}'))
            assert totals is not None
            # the common word's idf is FTS5's floor, the rare one's is its own
            assert (totals.idf == pubsub_fts_bm25.IDF_FLOOR) is (word == COMMON)

    run_with_storage(f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}", scenario)


def test_pages_equal_fts5s_full_ranking_for_a_common_and_a_rare_word(tmp_path: Path) -> None:
    async def scenario(storage: Storage) -> None:
        node = await add_node(storage, "alice", "blog")
        await add_items(storage, node, varied_items(400, seed=7))
        for word in (COMMON, RARE):
            everything = [name for name, _ in await fts5_full_ranking(storage, word)]
            for index, limit in ((0, 1), (0, 20), (7, 13), (40, 37), (len(everything) - 5, 10)):
                query = {"fts": word, "index": index, "limit": limit}
                assert await ids(storage, **query) == everything[index:index + limit], query

    run_with_storage(f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}", scenario)


def test_an_empty_index_has_no_totals_and_finds_nothing(tmp_path: Path) -> None:
    async def scenario(storage: Storage) -> None:
        async with storage.session() as session:
            assert await bm25_totals(session, SearchQuery.from_json('{"fts": "garden"}')) is None
        assert await ids(storage, fts="garden") == []

    run_with_storage(f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}", scenario)
