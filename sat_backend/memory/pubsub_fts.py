"""Full-text search over cached pubsub items: what is indexed, the index itself, the query.

What is indexed is the *text* of an item (every text node of its XML, never element or
attribute names, so searching "entry" does not match every Atom item), reduced to words:
lower-cased (``casefold``), accents removed, separated by single spaces. That column
(``pubsub_items.search_text``) is filled by the ORM whenever ``PubsubItem.data`` is set
(see :mod:`sat_backend.memory.sqla_mapping`). Since both databases see the same plain
words, SQLite's FTS5 and PostgreSQL's ``to_tsvector('simple', …)`` split them the same
way and a query gives the same items on both.

* SQLite: an FTS5 *external content* table over that column, kept in sync by triggers,
  ranked with ``bm25``;
* PostgreSQL: a stored generated column ``search_vector`` =
  ``to_tsvector('simple', search_text)`` with a GIN index, queried with ``to_tsquery``,
  ranked with ``ts_rank``. Stored rather than an expression index because ranking reads
  the vector of every matching row: recomputing it made a query matching most of 10,000
  items take ≈230 ms instead of a few.

The index objects are not ORM models: they are created by migration ``0003`` and, for a
new database, right after ``create_all`` creates ``pubsub_items`` (DDL event registered in
the mapping). Alembic comparisons skip them through :func:`is_index_object`.

The user's query syntax (:class:`FtsQuery`) is ours, the same on both databases: words
(all must appear), ``"a phrase"``, ``word*`` (prefix), ``-word`` (must not appear),
``a OR b``. It is rendered with every word quoted, so no input can be an FTS5 or tsquery
syntax error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, text

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.core.xml_payloads import MAX_PAYLOAD_BYTES, UnsafeXml, etree, parse_untrusted

ITEMS_TABLE = "pubsub_items"
COLUMN = "search_text"
#: SQLite FTS5 table (its shadow tables are named ``pubsub_items_fts_*``)
FTS_TABLE = "pubsub_items_fts"
#: PostgreSQL generated tsvector column, and its GIN index
PG_VECTOR = "search_vector"
PG_INDEX = "ix_pubsub_items_search_vector"
#: the term index of ranked one-word searches (:mod:`.pubsub_fts_terms`)
TERMS_TABLE = "pubsub_item_terms"
#: tsvector has a 1 MB limit; the text of an item is indexed up to this many characters
MAX_INDEXED_CHARS = 200_000
#: a query longer than this, or with more terms, is refused (InvalidArgument)
MAX_QUERY_CHARS = 1_000
MAX_QUERY_TERMS = 32

# a word: letters and digits (what FTS5's unicode61 and PostgreSQL's parser both keep)
_WORD = re.compile(r"[^\W_]+")
# the same on case-folded ASCII text (no capitals left; ``\w`` there is ``[a-zA-Z0-9_]``)
_ASCII_WORD = re.compile(r"[a-z0-9]+")

_SQLITE_TRIGGERS = {
    f"{FTS_TABLE}_insert": f"""
        CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON {ITEMS_TABLE} BEGIN
            INSERT INTO {FTS_TABLE}(rowid, {COLUMN}) VALUES (new.id, new.{COLUMN});
        END""",
    f"{FTS_TABLE}_delete": f"""
        CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON {ITEMS_TABLE} BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {COLUMN}) VALUES ('delete', old.id, old.{COLUMN});
        END""",
    f"{FTS_TABLE}_update": f"""
        CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF id, {COLUMN} ON {ITEMS_TABLE} BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {COLUMN}) VALUES ('delete', old.id, old.{COLUMN});
            INSERT INTO {FTS_TABLE}(rowid, {COLUMN}) VALUES (new.id, new.{COLUMN});
        END""",
}


# what is indexed ----------------------------------------------------------------------------


def words(text_value: str) -> list[str]:
    """The searchable words of a text: case-folded, accents removed.

    ASCII text has no accents and nothing to decompose: it skips the per-character
    check, which was most of the cost of indexing a notified item (issue 14)."""
    folded = text_value.casefold()
    if folded.isascii():
        return _ASCII_WORD.findall(folded)
    decomposed = unicodedata.normalize("NFKD", folded)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _WORD.findall(stripped)


def search_text(xml: str | None) -> str:
    """The indexed form of an item: the words of its text nodes, markup excluded.

    Parsed with the safe parser (no entity expansion, no DTD, no network); XML that is
    unsafe or not well-formed has no text (the item itself is still stored raw).
    """
    if not xml:
        return ""
    data = xml.encode("utf-8")
    if len(data) > MAX_PAYLOAD_BYTES:
        return ""
    try:
        root = parse_untrusted(data)
    except (UnsafeXml, etree.XMLSyntaxError, ValueError):
        return ""
    return tree_text(root)


@cache
def _text_nodes() -> etree.XPath:
    """An item's text nodes (compiled once: compiling the path cost twice its evaluation)."""
    return etree.XPath("//text()", smart_strings=False)


def tree_text(root: etree._Element) -> str:
    """:func:`search_text` of an item already parsed safely."""
    # text() nodes only: not comments, processing instructions, tag or attribute names
    nodes = _text_nodes()(root)
    indexed = " ".join(words(" ".join(str(node) for node in nodes)))
    if len(indexed) > MAX_INDEXED_CHARS:
        indexed = indexed[:MAX_INDEXED_CHARS].rsplit(" ", 1)[0]
    return indexed


# the index ------------------------------------------------------------------------------------


def create_index(connection: Connection) -> None:
    """Create the full-text index of ``pubsub_items`` and fill it from ``search_text``."""
    if connection.dialect.name == "sqlite":
        connection.execute(text(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({COLUMN}, content='{ITEMS_TABLE}', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
        ))
        for statement in _SQLITE_TRIGGERS.values():
            connection.execute(text(statement))
        connection.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"))
    elif connection.dialect.name == "postgresql":
        connection.execute(text(
            f"ALTER TABLE {ITEMS_TABLE} ADD COLUMN {PG_VECTOR} tsvector "
            f"GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {COLUMN})) STORED"
        ))
        connection.execute(text(f"CREATE INDEX {PG_INDEX} ON {ITEMS_TABLE} USING gin ({PG_VECTOR})"))


def drop_index(connection: Connection) -> None:
    """Drop what :func:`create_index` created (migration ``0003`` downgrade)."""
    if connection.dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        connection.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))
    elif connection.dialect.name == "postgresql":
        connection.execute(text(f"DROP INDEX IF EXISTS {PG_INDEX}"))
        connection.execute(text(f"ALTER TABLE {ITEMS_TABLE} DROP COLUMN IF EXISTS {PG_VECTOR}"))


def is_index_object(name: str | None, type_: str) -> bool:
    """True for the objects of the full-text index (not models: Alembic must skip them)."""
    if name is None:
        return False
    if type_ == "table":
        return name in (FTS_TABLE, TERMS_TABLE) or name.startswith(f"{FTS_TABLE}_")
    return (type_ == "index" and name == PG_INDEX) or (type_ == "column" and name == PG_VECTOR)


# the query ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word or a phrase (several words in this order); ``prefix``: its last word may go on."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class FtsQuery:
    """A full-text query: every group must match (a group is one term or ``a OR b …``),
    and none of ``excluded``."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    @classmethod
    def parse(cls, query: str) -> FtsQuery:
        """:raises InvalidArgument: too long, too many terms, or nothing to look for."""
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidArgument(f"fts: the query is longer than {MAX_QUERY_CHARS} characters")
        groups: list[list[Term]] = []
        excluded: list[Term] = []
        pending_or = False
        count = 0
        for match in re.finditer(r'(-?)(?:"([^"]*)"?|([^\s"]+))', query):
            negated, phrase, word = match.group(1) == "-", match.group(2), match.group(3)
            if word == "OR" and not negated:
                pending_or = bool(groups)
                continue
            raw = phrase if phrase is not None else word or ""
            prefix = phrase is None and raw.endswith("*")
            term_words = tuple(words(raw))
            if not term_words:  # punctuation only: nothing either database would index
                continue
            count += 1
            if count > MAX_QUERY_TERMS:
                raise InvalidArgument(f"fts: more than {MAX_QUERY_TERMS} terms")
            term = Term(term_words, prefix)
            if negated:
                excluded.append(term)
            elif pending_or:
                groups[-1].append(term)
            else:
                groups.append([term])
            pending_or = False
        if not groups:
            raise InvalidArgument("fts: the query has no word to look for (only excluded words or punctuation)")
        return cls(tuple(tuple(group) for group in groups), tuple(excluded))

    def fts5(self) -> str:
        """The query in FTS5 syntax: every word quoted (they are letters and digits only)."""

        def term(item: Term) -> str:
            return '"' + " ".join(item.words) + '"' + (" *" if item.prefix else "")

        positive = " AND ".join("(" + " OR ".join(term(t) for t in group) + ")" for group in self.groups)
        if not self.excluded:
            return positive
        return f"({positive}) NOT (" + " OR ".join(term(t) for t in self.excluded) + ")"

    def tsquery(self) -> str:
        """The query in PostgreSQL ``to_tsquery`` syntax (phrases with ``<->``)."""

        def term(item: Term) -> str:
            quoted = [f"'{word}'" for word in item.words]
            if item.prefix:
                quoted[-1] += ":*"
            return "(" + " <-> ".join(quoted) + ")"

        parts = ["(" + " | ".join(term(t) for t in group) + ")" for group in self.groups]
        parts += ["!" + term(t) for t in self.excluded]
        return " & ".join(parts)
