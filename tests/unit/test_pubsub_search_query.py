"""Pure pieces of ``PsCacheSearch``: query validation, full-text query syntax, indexed text."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from sat_backend.core.exceptions import InvalidArgument
from sat_backend.memory import pubsub_fts, pubsub_fts_terms
from sat_backend.memory.pubsub_fts import FtsQuery, Term, search_text, words
from sat_backend.memory.pubsub_json_filters import like_to_glob, sqlite_path
from sat_backend.memory.pubsub_fts_bm25 import Bm25Totals
from sat_backend.memory.pubsub_search import OPERATORS, MAX_LIMIT, SearchQuery, statement
from sat_backend.memory.sqla_mapping import PubsubItem

ATOM = (
    "<item id='1'><entry xmlns='http://www.w3.org/2005/Atom'><title type='text'>Été à Paris</title>"
    "<content type='text'>First <!-- hidden note --> post</content><category term='travel'/></entry></item>"
)


def query(**keys: Any) -> SearchQuery:
    return SearchQuery.from_json(json.dumps(keys))


# indexed text --------------------------------------------------------------------------------------


def test_indexed_text_is_the_words_of_text_nodes_only() -> None:
    indexed = search_text(ATOM)
    assert indexed == "ete a paris first post"
    for markup in ("entry", "title", "content", "item", "text", "travel", "hidden", "atom", "www"):
        assert markup not in indexed.split()


@pytest.mark.parametrize("xml", [
    "<unclosed>", "", "not xml at all",
    "<!DOCTYPE x [<!ENTITY big 'boom'>]><x>&big;</x>",
    "<x>&undefined;</x>",
])
def test_unsafe_or_malformed_xml_has_no_indexed_text(xml: str) -> None:
    assert search_text(xml) == ""


def test_the_orm_keeps_the_indexed_text_in_step_with_data() -> None:
    item = PubsubItem(node_id=1, name="1", data="<item id='1'><x xmlns='urn:t'>Hello World</x></item>")
    assert item.search_text == "hello world"
    item.data = "<item id='1'><x xmlns='urn:t'>Bye</x></item>"
    assert item.search_text == "bye"


def test_words_fold_case_and_accents() -> None:
    assert words("Ça GRÜSST l'Œuvre — naïve_Straße 42") == ["ca", "grusst", "l", "œuvre", "naive", "strasse", "42"]


@pytest.mark.parametrize("text", [
    "Hello, WORLD_42 a-b\tc\n", "x_y __ 0", "", "Straße", "\u212a", "ﬁn", "ǅ", "x\u0301y", "東京 ＡＢ",
])
def test_words_are_the_same_on_the_ascii_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text that is ASCII once case-folded (``ß`` → ``ss``, the Kelvin sign → ``k``) is
    never decomposed (the per-character accent check was most of an item's indexing,
    issue 14), and every text gives the words of the definition."""
    expected = _reference_words(text)
    assert words(text) == expected
    if text.casefold().isascii():
        monkeypatch.setattr(pubsub_fts, "unicodedata", _NoDecomposition)
        assert words(text) == expected


class _NoDecomposition:
    """Stands for :mod:`unicodedata` in the module under test: decomposing fails."""

    @staticmethod
    def normalize(_form: str, _text: str) -> str:
        raise AssertionError("ASCII text decomposed")

    combining = staticmethod(unicodedata.combining)


def _reference_words(text: str) -> list[str]:
    """The definition: NFKD of the case-folded text, combining marks dropped, runs of
    letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return re.findall(r"[^\W_]+", "".join(char for char in decomposed if not unicodedata.combining(char)))


# full-text query syntax ------------------------------------------------------------------------------


def test_fts_query_syntax() -> None:
    parsed = FtsQuery.parse('blog "hello  World" pari* -spam OR -"bad thing" x OR y')
    assert parsed.groups == (
        (Term(("blog",)),), (Term(("hello", "world")),), (Term(("pari",), prefix=True),),
        (Term(("x",)), Term(("y",))),
    )
    assert parsed.excluded == (Term(("spam",)), Term(("bad", "thing")))
    assert parsed.fts5() == ('(("blog") AND ("hello world") AND ("pari" *) AND ("x" OR "y")) '
                             'NOT ("spam" OR "bad thing")')
    assert parsed.tsquery() == ("(('blog')) & (('hello' <-> 'world')) & (('pari':*)) & (('x') | ('y')) "
                                "& !('spam') & !('bad' <-> 'thing')")


@pytest.mark.parametrize("text", ['"', 'AND(', '*', '-', 'NOT', 'NEAR(a b)', "a'b", "x:*", '"unclosed', "OR a",
                                  "a OR", "a\\b", "()", "^a", "a + b", "{col}: x"])
def test_fts_query_with_odd_syntax_is_words_or_invalid(text: str) -> None:
    try:
        parsed = FtsQuery.parse(text)
    except InvalidArgument:
        return
    # what reaches the database is quoted letters and digits only
    for group in parsed.groups:
        for term in group:
            assert all(word.isalnum() for word in term.words)


@pytest.mark.parametrize("text", ["", "   ", "*", '""', "-word", "- -", "%%%", "x" * 1001, " ".join(["w"] * 33)])
def test_fts_query_without_words_or_too_big_is_invalid(text: str) -> None:
    with pytest.raises(InvalidArgument, match="fts"):
        FtsQuery.parse(text)


# query validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "value"), [
    ("==", "x"), ("==", 1), ("==", True), ("==", None), ("!=", 2.5), (">", 1), (">=", "b"), ("<", 3), ("<=", "z"),
    ("between", [1, 2]), ("between", ["a", "b"]), ("in", ["a", 1, None]), ("not_in", []), ("like", "a%"),
    ("ilike", "_b\\%"), ("overlap", ["x", 1, False]), ("disjoint", ["y"]),
])
def test_every_operator_is_accepted_with_its_value(op: str, value: Any) -> None:
    parsed = query(parsed=[{"path": ["a", 0], "op": op, "value": value}]).parsed
    assert parsed[0].op == op and parsed[0].value == value and parsed[0].path == ("a", 0)


def test_the_accepted_operators_are_the_contract_ones() -> None:
    assert set(OPERATORS) == {"==", "!=", ">", ">=", "<", "<=", "between", "in", "not_in", "like", "ilike",
                              "overlap", "disjoint"}


@pytest.mark.parametrize("keys", [
    {"colour": 1}, {"order_by": []}, {"fts": 3}, {"profiles": "alice"}, {"services": [1]}, {"names": [None]},
    {"parsed": {}}, {"parsed": [[]]}, {"parsed": [{"path": ["a"], "op": "=~", "value": 1}]},
    {"parsed": [{"path": ["a"], "op": "=", "value": 1}]}, {"parsed": [{"path": ["a"], "op": "==", "value": 1, "x": 1}]},
    {"parsed": [{"path": ["a"], "op": "=="}]}, {"parsed": [{"op": "==", "value": 1}]},
    {"parsed": [{"path": [], "op": "==", "value": 1}]}, {"parsed": [{"path": "a.b", "op": "==", "value": 1}]},
    {"parsed": [{"path": [True], "op": "==", "value": 1}]}, {"parsed": [{"path": [-1], "op": "==", "value": 1}]},
    {"parsed": [{"path": ['a"b'], "op": "==", "value": 1}]}, {"parsed": [{"path": [1.5], "op": "==", "value": 1}]},
    {"parsed": [{"path": ["a"], "op": "==", "value": [1]}]}, {"parsed": [{"path": ["a"], "op": "==", "value": {}}]},
    {"parsed": [{"path": ["a"], "op": "<", "value": True}]}, {"parsed": [{"path": ["a"], "op": "<", "value": None}]},
    {"parsed": [{"path": ["a"], "op": ">=", "value": [1]}]},
    {"parsed": [{"path": ["a"], "op": "between", "value": [1]}]},
    {"parsed": [{"path": ["a"], "op": "between", "value": [1, 2, 3]}]},
    {"parsed": [{"path": ["a"], "op": "between", "value": [1, "b"]}]},
    {"parsed": [{"path": ["a"], "op": "between", "value": 1}]},
    {"parsed": [{"path": ["a"], "op": "in", "value": "abc"}]},
    {"parsed": [{"path": ["a"], "op": "in", "value": [[1]]}]},
    {"parsed": [{"path": ["a"], "op": "in", "value": list(range(101))}]},
    {"parsed": [{"path": ["a"], "op": "overlap", "value": [None]}]},
    {"parsed": [{"path": ["a"], "op": "disjoint", "value": "x"}]},
    {"parsed": [{"path": ["a"], "op": "like", "value": 1}]},
    {"parsed": [{"path": ["a"], "op": "ilike", "value": "ends with\\"}]},
    {"order-by": {}}, {"order-by": [{"order": "size"}]}, {"order-by": [{"order": "creation", "direction": "up"}]},
    {"order-by": [{"order": "creation", "path": ["a"]}]}, {"order-by": [{"direction": "asc"}]},
    {"order-by": [{"order": "rank"}]}, {"order-by": [{"path": []}]}, {"order-by": [{"order": "creation", "x": 1}]},
    {"index": -1}, {"index": "0"}, {"index": 1.5}, {"limit": 0}, {"limit": MAX_LIMIT + 1}, {"limit": True},
    {"with_payload": 1}, {"with_payload": "yes"},
])
def test_bad_queries_are_invalid_arguments(keys: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        query(**keys)


@pytest.mark.parametrize("text", ["[]", "not json", '"fts"', "3"])
def test_a_query_is_a_json_object(text: str) -> None:
    with pytest.raises(InvalidArgument, match="query_json"):
        SearchQuery.from_json(text)


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="finite"):
        SearchQuery.from_json('{"parsed": [{"path": ["a"], "op": ">", "value": NaN}]}')


@pytest.mark.parametrize("keys, message", [
    ({"parsed": ["a"]}, "parsed[0] must be an object {path, op, value}"),
    ({"parsed": [{"path": ["a"], "op": "==", "value": 1, "z": 0, "b": 0}]},
     "parsed[0]: unknown key(s) b, z; known: path, op, value"),
    ({"order-by": [3]}, "order-by[0] must be an object {order|path, direction}"),
    ({"order-by": [{"order": "creation", "x": 1}]}, "order-by[0]: unknown key(s) x; known: order, path, direction"),
])
def test_nested_objects_name_their_place_and_known_keys(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        query(**keys)
    assert str(raised.value) == message


def test_defaults_and_order_keys() -> None:
    empty = SearchQuery.from_json("")
    assert (empty.fts, empty.index, empty.limit, empty.with_payload, empty.order_by) == (None, 0, 100, False, ())
    ordered = query(fts="x", **{"order-by": [{"order": "rank"}, {"path": ["a", 1], "direction": "desc"},
                                             {"order": "item_id"}]})
    assert [(key.order, key.path, key.descending) for key in ordered.order_by] == [
        ("rank", None, True), (None, ("a", 1), True), ("item_id", None, False)]


# the statement --------------------------------------------------------------------------------------


def inner_page(parsed: SearchQuery, name: str) -> str:
    """The SQL of the page query (ids and sort values) inside a search statement."""
    dialect = sqlite.dialect() if name == "sqlite" else postgresql.dialect()
    sql = str(statement(parsed, name).compile(dialect=dialect))
    assert sql.count(") AS page") == 1, sql
    return sql[sql.index("FROM (SELECT") + len("FROM ("):sql.index(") AS page")]


def test_a_ranked_page_is_a_top_k_on_the_index_before_any_row_is_read() -> None:
    """Issue 14: only the ids and ranks of the matches are sorted (LIMIT inside), the
    items, nodes and profiles are read for the page's rows only (a prefix: a query the
    term index does not serve, see the next test)."""
    ranked = query(fts="garden*", limit=20, index=40)
    on_sqlite = inner_page(ranked, "sqlite")
    assert "FROM pubsub_items_fts" in on_sqlite and "JOIN" not in on_sqlite and "pubsub_items." not in on_sqlite
    assert "bm25(pubsub_items_fts)" in on_sqlite and "LIMIT" in on_sqlite and "OFFSET" in on_sqlite
    on_postgresql = inner_page(ranked, "postgresql")
    assert "FROM pubsub_items" in on_postgresql and "JOIN" not in on_postgresql and "parsed" not in on_postgresql
    assert "ts_rank(" in on_postgresql and "LIMIT" in on_postgresql
    # a node filter needs the joins before the LIMIT: still only ids and ranks sorted
    for name in ("sqlite", "postgresql"):
        in_node = inner_page(query(fts="garden*", nodes=["blog"]), name)
        assert "JOIN pubsub_nodes" in in_node and "parsed" not in in_node and "LIMIT" in in_node


def test_a_ranked_one_word_page_is_ranked_among_the_candidates_of_the_term_index() -> None:
    """Issue 14: the first ``index + limit`` of each group of the word's rows in the term
    index, ranked by the same function; anything else the index cannot order takes the
    full ranking."""
    for name, rank in (("sqlite", "bm25(pubsub_items_fts)"), ("postgresql", "ts_rank(")):
        page = inner_page(query(fts="Garden", limit=20, index=40), name)
        assert "FROM pubsub_item_terms" in page and rank in page and "WITH RECURSIVE" not in page
        sql = str(statement(query(fts="garden", nodes=["blog"]), name).compile(
            dialect=sqlite.dialect() if name == "sqlite" else postgresql.dialect()))
        assert sql.startswith("WITH RECURSIVE term_groups") and "member.node_id IN (SELECT pubsub_nodes.id" in sql
        # name and parsed filters: checked on each term row's item while a group is read
        filtered = inner_page(query(fts="garden", names=["a"], parsed=[{"path": ["n"], "op": "==", "value": 1}]),
                              name)
        assert "AND (EXISTS (SELECT pubsub_items.id \nFROM pubsub_items \nWHERE pubsub_items.id = member.item_id" in filtered
        for keys in ({"fts": "garden*"}, {"fts": "garden gate"}, {"fts": "garden OR gate"}, {"fts": "garden -gate"},
                     {"fts": '"garden gate"'}, {"fts": "garden", "index": 981},
                     {"fts": "garden", "order-by": [{"order": "rank", "direction": "asc"}]},
                     {"fts": "garden", "order-by": [{"order": "rank"}, {"order": "creation"}]},
                     {"fts": "g\u00e4rten٣"}, {"fts": "x" * 256}):
            assert "pubsub_item_terms" not in inner_page(query(**keys), name), keys
    # with the word's totals, SQLite scores the candidates itself: FTS5 is not read
    totals = Bm25Totals(rows=100, tokens=5000, matches=60)
    scored = str(statement(query(fts="garden", limit=20), "sqlite", totals).compile(dialect=sqlite.dialect()))
    assert "JOIN pubsub_item_terms AS candidate ON" in scored and "candidates.occurrences * " in scored
    assert "pubsub_items_fts" not in scored and "MATCH" not in scored and "bm25(" not in scored
    # totals change nothing where the term index does not serve the query
    for name, keys in (("sqlite", {"fts": "garden*"}), ("postgresql", {"fts": "garden"})):
        dialect = sqlite.dialect() if name == "sqlite" else postgresql.dialect()
        assert (str(statement(query(**keys), name, totals).compile(dialect=dialect))
                == str(statement(query(**keys), name).compile(dialect=dialect))), name
    assert pubsub_fts_terms.usable(FtsQuery.parse("jardín"), 20) == "jardin"
    assert pubsub_fts_terms.usable(FtsQuery.parse("日本"), 20) == "日本"
    assert pubsub_fts_terms.usable(FtsQuery.parse("b2b"), 1000) == "b2b"
    assert pubsub_fts_terms.usable(FtsQuery.parse("b2b"), 1001) is None


def test_less_than_is_strictly_less_on_both_databases() -> None:
    parsed = query(parsed=[{"path": ["n"], "op": "<", "value": 10}])
    for dialect, name in ((sqlite.dialect(), "sqlite"), (postgresql.dialect(), "postgresql")):
        sql = str(statement(parsed, name).compile(dialect=dialect))
        assert " < " in sql and "<=" not in sql


def test_user_values_are_bound_never_spliced() -> None:
    evil = "x'); DROP TABLE pubsub_items; --"
    parsed = query(fts=evil, names=[evil], parsed=[{"path": [evil], "op": "==", "value": evil},
                                                   {"path": ["t"], "op": "like", "value": evil}])
    for dialect, name in ((sqlite.dialect(), "sqlite"), (postgresql.dialect(), "postgresql")):
        compiled = statement(parsed, name).compile(dialect=dialect)
        assert "DROP" not in str(compiled)


def test_json_paths_and_like_patterns_for_sqlite() -> None:
    assert sqlite_path(("a.b", 0, "c[1]")) == '$."a.b"[0]."c[1]"'
    assert like_to_glob("a%b_c*d?e[f\\%g\\_h\\\\") == "a*b?c[*]d[?]e[[]f%g_h\\"
