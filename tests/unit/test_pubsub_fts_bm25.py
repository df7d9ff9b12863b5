"""The pure parts of SQLite's bm25 from the term index: FTS5's varints, idf, average length."""

from __future__ import annotations

import math

from sat_backend.memory.pubsub_fts_bm25 import IDF_FLOOR, Bm25Totals, fts5_varints


def test_fts5_varints_as_sqlite_writes_them() -> None:
    assert fts5_varints(bytes([0x00, 0x7F])) == [0, 127]
    assert fts5_varints(bytes([0x81, 0x00])) == [128]
    assert fts5_varints(bytes([0x86, 0x8D, 0x20, 0x9F, 0x8C, 0x18])) == [100000, 509464]
    # nine bytes: the last one counts its 8 bits
    assert fts5_varints(bytes([0xFF] * 8 + [0xFF])) == [2**64 - 1]
    assert fts5_varints(bytes([0x81])) == []  # truncated: nothing whole


def test_idf_has_fts5s_floor_from_half_the_rows() -> None:
    assert Bm25Totals(rows=10, tokens=100, matches=5).idf == IDF_FLOOR  # log(1) = 0
    assert Bm25Totals(rows=10, tokens=100, matches=9).idf == IDF_FLOOR
    assert Bm25Totals(rows=11, tokens=100, matches=5).idf == math.log(6.5 / 5.5)
    assert Bm25Totals(rows=100000, tokens=6801000, matches=1).average_length == 68.01
