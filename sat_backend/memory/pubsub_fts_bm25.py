"""SQLite's ``bm25`` of a one-word search, computed from the term index (issue 14).

A ranked one-word search takes its candidates from the term index
(:mod:`.pubsub_fts_terms`). Ranking them with FTS5's own ``bm25()`` made FTS5 walk the
word's whole doclist twice: once for the ``MATCH`` (each match checked against the
candidates), once to count the items having the word (bm25's idf). At 100k items, for a
word in 93 % of them, that was 18-24 of the search's 25 ms, and the candidates 0.5 ms.

FTS5 scores a row for one word (``fts5Bm25Function`` of ``fts5_aux.c``) as::

    idf * ((tf * (k1 + 1.0)) / (tf + k1 * (1 - b + b * D / avgdl)))

negated, with ``k1 = 1.2``, ``b = 0.75``, ``tf`` the word's occurrences in the row, ``D``
the row's tokens, ``avgdl = tokens / rows`` of the whole table, and ``idf = log((rows -
matches + 0.5) / (matches + 0.5))``, raised to ``1e-6`` when not positive (a word in half
the rows or more). The term index holds ``tf`` and ``D`` of every (word, item) (the same
counts FTS5 makes, see :mod:`.pubsub_fts_terms`); :func:`read_totals` reads the rest:
``rows`` and ``tokens`` from FTS5's own record of them, ``matches`` by FTS5 itself,
counted only up to half the rows (past it, idf is the floor whatever the count).
:func:`score` is then the same IEEE operations on the same values, in the same order,
constants bound from Python (SQLite's own parsing of ``1.2`` need not round as C does):
the same double, so the same order, ties included (then by id, as the page sorts).
``test_pubsub_search_bm25.py`` holds it to ``bm25()`` value for value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from sat_backend.memory.pubsub_fts import FTS_TABLE

#: FTS5's bm25 parameters (its defaults: no weights passed)
K1 = 1.2
B = 0.75
#: FTS5's lowest idf, for a word in at least half the rows
IDF_FLOOR = 1e-6
#: the rowid of FTS5's record of the table's row and token totals (``FTS5_AVERAGES_ROWID``)
AVERAGES_ROWID = 1


@dataclass(frozen=True)
class Bm25Totals:
    """What the score of every candidate shares: the table's rows and tokens (all
    columns: the table has one), and the rows having the word (capped at half)."""

    rows: int
    tokens: int
    matches: int

    @property
    def idf(self) -> float:
        idf = math.log((self.rows - self.matches + 0.5) / (self.matches + 0.5))
        return idf if idf > 0.0 else IDF_FLOOR

    @property
    def average_length(self) -> float:
        return self.tokens / self.rows


async def read_totals(session: AsyncSession, fts5_query: str) -> Bm25Totals | None:
    """The totals for ``fts5_query`` (one word, as FTS5 reads it); None when the table is
    empty.

    Read by statements of their own just before the page, each its own snapshot (the
    driver opens no transaction for a SELECT): a write committed in between makes the
    page scored with the totals of a moment before it, which can only swap items whose
    scores that write brought within a hair of each other.
    """
    block = (await session.execute(text(f"SELECT block FROM {FTS_TABLE}_data WHERE id = :id"),
                                   {"id": AVERAGES_ROWID})).scalar()
    if not block:
        return None
    rows, tokens = (fts5_varints(block) + [0, 0])[:2]
    if rows <= 0:
        return None
    half = (rows + 1) // 2  # matches >= half: idf is the floor
    matches = (await session.execute(
        text(f"SELECT count(*) FROM (SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :query LIMIT :half)"),
        {"query": fts5_query, "half": half})).scalar_one()
    return Bm25Totals(rows, tokens, matches)


def score(totals: Bm25Totals, occurrences: Any, length: Any) -> Any:
    """``-bm25()`` of a row with ``occurrences`` of the word among ``length`` tokens (SQL
    columns): higher is better."""
    def constant(name: str, value: float) -> Any:
        return bindparam(f"bm25_{name}", value, type_=Float())

    k1, b = constant("k1", K1), constant("b", B)
    normalised_length = constant("one_minus_b", 1 - B) + (b * length) / constant("average_length",
                                                                                totals.average_length)
    return constant("idf", totals.idf) * (
        (occurrences * constant("k1_plus_one", K1 + 1.0)) / (occurrences + k1 * normalised_length))


def fts5_varints(block: bytes) -> list[int]:
    """The varints of an FTS5 record (SQLite's: big-endian groups of 7 bits, a set high
    bit for "more", the ninth byte whole)."""
    values: list[int] = []
    index = 0
    while index < len(block):
        value = 0
        for position in range(9):
            if index >= len(block):
                return values  # truncated: what was whole
            byte = block[index]
            index += 1
            if position == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values
