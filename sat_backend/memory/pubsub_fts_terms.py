"""The term index of the full-text search: a ranked one-word search reads k rows per
group instead of ranking every match (issue 14).

Both scoring functions rank a one-word query by two numbers of each matching item and
nothing else that varies from item to item: how many times the word occurs (``tf``)
and how many words the item has (its length ``dl``):

* SQLite's ``bm25`` = ``idf · tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl))``: ``idf`` and
  ``avgdl`` are the same for every item of one query, so for a given ``tf`` a longer item
  scores lower. ``avgdl`` changes with every write, so the *score* cannot be stored, but
  this order within a group of equal ``tf`` holds whatever its value;
* PostgreSQL's ``ts_rank(vector, query, 1)`` of one lexeme = ``f(tf) / log2(dl + 1)``
  (``f`` grows with the number of positions; ``dl`` counts the positions of the vector):
  again, for a given ``tf``, longer is lower.

So the table ``pubsub_item_terms`` keeps, for every (word, item), ``occurrences`` (tf) and
``length`` (dl), with the primary key ``(term, occurrences, length, item_id)``. The best k
items for a word are among the first k of each group of equal ``occurrences`` (by
length, then item id: the tie order of the search); there are few groups (a word seldom
occurs more than a few dozen times in an item). The search takes these candidates
(:func:`candidates`: a recursive CTE that skips from group to group along the key, then k
rows of each) and ranks *them* by the database's own function, so the order is exactly
the full ranking's (``tests/integration/test_pubsub_search_ranking.py``): PostgreSQL's
``ts_rank``, SQLite's ``bm25`` computed from these rows' counts
(:mod:`.pubsub_fts_bm25`: FTS5's ``bm25()`` would walk the word's every match).

The table is kept exact by triggers on ``pubsub_items`` (insert, delete, update of
``search_text`` or ``node_id``, cascades included), like the full-text index itself; it
is an index object, not a model (:func:`sat_backend.memory.pubsub_fts.is_index_object`).
On SQLite the words are split from ``search_text`` (single spaces between words, which is
what FTS5's tokenizer sees, see :func:`usable`); on PostgreSQL they are read from the
``tsvector`` itself, so tf and dl are exactly what ``ts_rank`` uses.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, column, func, select, table, text, true, tuple_

from sat_backend.memory.pubsub_fts import COLUMN, ITEMS_TABLE, PG_VECTOR, TERMS_TABLE, FtsQuery

#: candidates per group above this: the full ranking is cheaper (and a deep page is rare)
MAX_DEPTH = 1000
#: a word longer than this (in UTF-8 bytes) takes the full ranking (PostgreSQL does not
#: index words of 2 KB and more)
MAX_WORD_BYTES = 255

TERMS = table(TERMS_TABLE, column("term"), column("occurrences"), column("length"), column("item_id"),
              column("node_id"))

_SQLITE_TRIGGER_NAMES = ("pubsub_item_terms_insert", "pubsub_item_terms_delete", "pubsub_item_terms_update")
_PG_FUNCTIONS = ("pubsub_item_terms_sync()", "pubsub_item_terms_of(tsvector)")

# SQLite: the words of ``{row}.search_text`` (letters and digits separated by single
# spaces, see pubsub_fts.tree_text) as a JSON array, so that json_each splits them (no
# word can contain a quote or a backslash); one row per distinct word
def _sqlite_terms_of(row: str, source: str = "", *, per_word_length: bool = False) -> str:
    """The SELECT of the rows of ``{row}``. In a trigger (``new``/``old``: one item) the
    length is a constant subquery, computed once instead of for every word: it was about
    a quarter of the trigger's CPU time (revision 0010). ``per_word_length``: for
    every word, as the backfill needs (its row varies) and the triggers of 0008 did."""
    length = f"length({row}.{COLUMN}) - length(replace({row}.{COLUMN}, ' ', '')) + 1"
    per_word = per_word_length or bool(source)
    return f"""
    SELECT value AS term, count(*) AS occurrences,
           {length if per_word else f"(SELECT {length})"} AS length,
           {row}.id AS item_id, {row}.node_id AS node_id
    FROM {source}json_each('["' || replace({row}.{COLUMN}, ' ', '","') || '"]')
    WHERE {row}.{COLUMN} != ''
    GROUP BY {f"{row}.id, value" if per_word else "value"}"""


def _sqlite_triggers(per_word_length: bool = False) -> tuple[str, ...]:
    """The triggers keeping ``pubsub_item_terms`` in step with ``pubsub_items``."""
    insert_new = f"{_SQLITE_COLUMNS} {_sqlite_terms_of('new', per_word_length=per_word_length)}"
    delete_old = f"""DELETE FROM {TERMS_TABLE} WHERE (term, occurrences, length, item_id) IN (
    SELECT term, occurrences, length, item_id FROM ({_sqlite_terms_of("old", per_word_length=per_word_length)}))"""
    return (
        f"CREATE TRIGGER pubsub_item_terms_insert AFTER INSERT ON {ITEMS_TABLE} BEGIN {insert_new}; END",
        f"CREATE TRIGGER pubsub_item_terms_delete AFTER DELETE ON {ITEMS_TABLE} BEGIN {delete_old}; END",
        f"CREATE TRIGGER pubsub_item_terms_update AFTER UPDATE OF {COLUMN}, node_id ON {ITEMS_TABLE} "
        f"WHEN old.{COLUMN} IS NOT new.{COLUMN} OR old.node_id IS NOT new.node_id "
        f"BEGIN {delete_old}; {insert_new}; END",
    )


_SQLITE_COLUMNS = f"INSERT INTO {TERMS_TABLE}(term, occurrences, length, item_id, node_id)"
_SQLITE_BACKFILL = f"{_SQLITE_COLUMNS} " + _sqlite_terms_of("items", f"{ITEMS_TABLE} AS items, ")
#: the SQLite triggers as revision 0008 made them (the rows are the same)
SQLITE_TRIGGERS_0008 = _sqlite_triggers(per_word_length=True)
SQLITE_TRIGGERS = _sqlite_triggers()

_PG_DDL = (
    # tf = positions of the lexeme, dl = positions of the vector: what ts_rank counts
    f"""CREATE FUNCTION pubsub_item_terms_of(vector tsvector)
        RETURNS TABLE(term text, occurrences integer, length integer) LANGUAGE sql IMMUTABLE AS $$
            SELECT lexeme, coalesce(array_length(positions, 1), 1),
                   (sum(coalesce(array_length(positions, 1), 1)) OVER ())::integer
            FROM unnest(vector)
        $$""",
    f"""CREATE FUNCTION pubsub_item_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                DELETE FROM {TERMS_TABLE} WHERE (term, occurrences, length, item_id) IN (
                    SELECT t.term, t.occurrences, t.length, OLD.id FROM pubsub_item_terms_of(OLD.{PG_VECTOR}) AS t);
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO {TERMS_TABLE}(term, occurrences, length, item_id, node_id)
                SELECT t.term, t.occurrences, t.length, NEW.id, NEW.node_id
                FROM pubsub_item_terms_of(NEW.{PG_VECTOR}) AS t;
            END IF;
            RETURN NULL;
        END
        $$""",
    f"""CREATE TRIGGER pubsub_item_terms_write AFTER INSERT OR DELETE ON {ITEMS_TABLE}
        FOR EACH ROW EXECUTE FUNCTION pubsub_item_terms_sync()""",
    f"""CREATE TRIGGER pubsub_item_terms_update AFTER UPDATE OF {COLUMN}, node_id ON {ITEMS_TABLE}
        FOR EACH ROW WHEN (OLD.{COLUMN} IS DISTINCT FROM NEW.{COLUMN} OR OLD.node_id <> NEW.node_id)
        EXECUTE FUNCTION pubsub_item_terms_sync()""",
)


def create_term_index(connection: Connection, sqlite_triggers: tuple[str, ...] = SQLITE_TRIGGERS) -> None:
    """Create ``pubsub_item_terms`` and its triggers, and fill it from the items stored.

    :param sqlite_triggers: the triggers on SQLite (revision 0008 makes its own)
    """
    sqlite = connection.dialect.name == "sqlite"
    # primary key only: a term's rows in the order the search reads them, and the exact
    # key of each row, which the delete trigger recomputes from the old text
    connection.execute(text(
        f"CREATE TABLE {TERMS_TABLE} (term TEXT NOT NULL, occurrences INTEGER NOT NULL, length INTEGER NOT NULL, "
        "item_id INTEGER NOT NULL, node_id INTEGER NOT NULL, "
        f"CONSTRAINT pk_{TERMS_TABLE} PRIMARY KEY (term, occurrences, length, item_id))"
        + (" WITHOUT ROWID" if sqlite else "")))
    if sqlite:
        replace_sqlite_triggers(connection, sqlite_triggers)
        connection.execute(text(_SQLITE_BACKFILL))
    else:
        for statement in _PG_DDL:
            connection.execute(text(statement))
        connection.execute(text(
            f"INSERT INTO {TERMS_TABLE}(term, occurrences, length, item_id, node_id) "
            f"SELECT t.term, t.occurrences, t.length, items.id, items.node_id FROM {ITEMS_TABLE} AS items "
            f"CROSS JOIN LATERAL pubsub_item_terms_of(items.{PG_VECTOR}) AS t"))


def replace_sqlite_triggers(connection: Connection, triggers: tuple[str, ...]) -> None:
    """Drop the term index's triggers (if any) and create ``triggers`` (SQLite)."""
    for name in _SQLITE_TRIGGER_NAMES:
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    for statement in triggers:
        connection.execute(text(statement))


def drop_term_index(connection: Connection) -> None:
    """Drop what :func:`create_term_index` created."""
    if connection.dialect.name == "sqlite":
        replace_sqlite_triggers(connection, ())
    else:
        for name in ("pubsub_item_terms_write", "pubsub_item_terms_update"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {ITEMS_TABLE}"))
        for signature in _PG_FUNCTIONS:
            connection.execute(text(f"DROP FUNCTION IF EXISTS {signature}"))
    connection.execute(text(f"DROP TABLE IF EXISTS {TERMS_TABLE}"))


# the search ---------------------------------------------------------------------------------


def usable(fts: FtsQuery, depth: int) -> str | None:
    """The word of a query the term index can rank, or None (the full ranking then).

    One word (no phrase, prefix, OR or excluded word), at most :data:`MAX_DEPTH` results
    deep, and a word both databases surely keep whole: letters and digits already in
    Unicode 3.2 (SQLite's tokenizer knows Unicode 6.1) and, beyond ASCII, letters only
    (PostgreSQL's parser may split a word at a non-ASCII digit).
    """
    if depth > MAX_DEPTH or len(fts.groups) != 1 or len(fts.groups[0]) != 1 or fts.excluded:
        return None
    term = fts.groups[0][0]
    if term.prefix or len(term.words) != 1:
        return None
    word = term.words[0]
    if len(word.encode("utf-8")) > MAX_WORD_BYTES:
        return None
    for char in word:
        if not (char.isascii() and char.isalnum()
                or unicodedata.ucd_3_2_0.category(char).startswith("L")):
            return None
    return word


def candidates(word: str, depth: int, dialect: str, nodes: Select[Any] | None,
               item_filter: Callable[[Any], ColumnElement[bool]] | None = None,
               with_counts: bool = False) -> Select[Any]:
    """The ids of the items among which the ``depth`` best for ``word`` are (see the
    module's docstring): the first ``depth`` of each group of equal occurrences.

    :param nodes: a SELECT of the node ids the search is limited to, or None (every node)
    :param item_filter: the condition an item must meet (name, parsed data), given its id
        column; checked row by row while a group is read, so a group stops at ``depth``
        items that meet it
    :param with_counts: on SQLite, each id with its ``occurrences`` and ``length`` (what
        :mod:`.pubsub_fts_bm25` scores it by)
    """
    # the stored lexeme on PostgreSQL is what its 'simple' dictionary makes of the word
    term: Any = bindparam("term", word) if dialect == "sqlite" else func.lower(bindparam("term", word))
    following = TERMS.alias("following")
    groups = select(func.max(TERMS.c.occurrences).label("occurrences")).where(
        TERMS.c.term == term).cte("term_groups", recursive=True)
    groups = groups.union_all(
        select(select(func.max(following.c.occurrences)).where(
            following.c.term == term, following.c.occurrences < groups.c.occurrences).scalar_subquery()).where(
            groups.c.occurrences.is_not(None)))
    member = TERMS.alias("member")
    conditions = [member.c.term == term, member.c.occurrences == groups.c.occurrences]
    if nodes is not None:
        conditions.append(member.c.node_id.in_(nodes))
    if item_filter is not None:
        conditions.append(item_filter(member.c.item_id))
    first = select(member.c.length, member.c.item_id).where(*conditions).order_by(
        member.c.length, member.c.item_id).limit(bindparam("depth", depth))
    if dialect == "postgresql":
        lateral = first.lateral("first_of_group")
        return select(lateral.c.item_id).select_from(groups).join(lateral, true())
    # SQLite has no LATERAL: each group's first rows drive lookups of the key
    row = TERMS.alias("candidate")
    counts = (row.c.occurrences, row.c.length) if with_counts else ()
    return select(row.c.item_id, *counts).select_from(groups).join(row, and_(
        row.c.term == term, row.c.occurrences == groups.c.occurrences)).where(
        tuple_(row.c.length, row.c.item_id).in_(first))
