"""The head revision read from the version files is Alembic's own (issue 14).

A start reads the head from the scripts' ``revision =`` lines so as not to import
Alembic; this proves both readings agree, whatever scripts are added later.
"""

from __future__ import annotations

from sat_backend.memory import migration


def test_head_from_the_version_files_is_alembics_head() -> None:
    assert migration.head_revision() == migration._scripts().get_current_head()


def test_every_script_and_what_it_revises_are_read_as_alembic_reads_them() -> None:
    read_by_alembic = {script.revision: script.down_revision for script in migration.all_revisions()}
    assert migration.script_revisions() == read_by_alembic


def test_unknown_revisions_are_those_of_no_script() -> None:
    assert migration.is_known(None) and migration.is_known(migration.head_revision())
    assert not migration.is_known("ffffffffffff")
