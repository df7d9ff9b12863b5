"""A message's history entry gives every column of ``history`` (a column added by a
migration must be given here too, or Core inserts would leave it out)."""

from __future__ import annotations

from sat_backend.memory.history_entry import HistoryEntry
from sat_backend.memory.short_statements import history, messages, subjects


def entry() -> HistoryEntry:
    return HistoryEntry(id="u1", timestamp=1.0, source="a@b", dest="c@d", type="chat",
                        bodies={"": "hi", "fr": "salut"}, subjects={"en": "s"}, extra={"thread": "t"})


def test_the_row_names_every_column_of_history_but_the_profile() -> None:
    assert set(entry().row()) | {"profile_id"} == {column.key for column in history.columns}


def test_texts_become_rows_of_their_tables_with_no_language_as_null() -> None:
    assert entry().bodies_rows() == [
        {"history_id": "u1", "message": "hi", "language": None},
        {"history_id": "u1", "message": "salut", "language": "fr"},
    ]
    assert entry().subjects_rows() == [{"history_id": "u1", "subject": "s", "language": "en"}]
    assert set(entry().bodies_rows()[0]) <= {column.key for column in messages.columns}
    assert set(entry().subjects_rows()[0]) <= {column.key for column in subjects.columns}
