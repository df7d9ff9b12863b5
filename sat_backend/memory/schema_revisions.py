"""The migration scripts' revisions, read from their files without SQLAlchemy or Alembic.

A start on a database at head compares the stored revision with the head of the
scripts (:mod:`.sqlite_start`); neither needs more than the ``revision =`` lines, so
this module imports neither library (:mod:`.migration` re-exports its names).
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

MIGRATION_DIR = Path(__file__).resolve().parent / "migration"
VERSION_TABLE = "alembic_version"
#: ``revision = '0004'`` / ``down_revision: ... = '0003'`` lines of a version script
_IDENTIFIER_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


@lru_cache(maxsize=1)
def script_revisions() -> dict[str, str | None]:
    """Each migration script's revision and the one it revises, read from the
    ``revision =`` lines of the version files without importing Alembic (whose import,
    with Mako and Pygments, costs more than the rest of a start's storage work)."""
    revisions: dict[str, str | None] = {}
    for path in sorted((MIGRATION_DIR / "versions").glob("*.py")):
        found = dict(_IDENTIFIER_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        down = ast.literal_eval(found.get("down_revision", "None"))
        revisions[ast.literal_eval(found["revision"])] = down
    return revisions


def head_revision() -> str:
    """The one revision no script revises (the schema of the models)."""
    revisions = script_revisions()
    heads = set(revisions) - set(revisions.values())
    assert len(heads) == 1, f"the migration scripts must have one head, not {sorted(heads)}"
    return heads.pop()


def is_known(revision: str | None) -> bool:
    """True if ``revision`` is one of our scripts (False: a newer SàT made the DB)."""
    return revision is None or revision in script_revisions()


__all__ = ["MIGRATION_DIR", "VERSION_TABLE", "head_revision", "is_known", "script_revisions"]
