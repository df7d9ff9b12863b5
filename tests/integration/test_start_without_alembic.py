"""A start on a database at head does not import Alembic; an older one is still migrated.

Alembic (with Mako and Pygments) is the biggest import a start could skip (issue 14):
the storage start reads the stored revision with a plain query and imports it only to
create or migrate the schema. Each start runs in its own interpreter, which reports the
modules it loaded, so the test observes the imports, never the time they take.
"""

from __future__ import annotations

import json
import subprocess
import sys

from sat_backend.memory import migration
from tests.integration.test_migrations import on_connection

MACHINERY = ("alembic", "mako", "pygments")

START = """
import asyncio, json, sys
from sat_backend.memory.sqla import Storage

async def start():
    storage = Storage(sys.argv[1])
    await storage.initialise()
    await storage.close()

asyncio.run(start())
print(json.dumps(sorted(name for name in sys.argv[2:] if name in sys.modules)))
"""


def machinery_loaded_by_a_start(database_url: str) -> list[str]:
    """Start the storage on ``database_url`` in a new interpreter; which of
    :data:`MACHINERY` it imported."""
    result = subprocess.run(
        [sys.executable, "-c", START, database_url, *MACHINERY],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_a_start_on_a_database_at_head_does_not_import_alembic(database_url: str) -> None:
    assert "alembic" in machinery_loaded_by_a_start(database_url)  # created: stamped at head
    assert machinery_loaded_by_a_start(database_url) == []
    assert on_connection(database_url, migration.current_revision) == migration.head_revision()


def test_a_database_at_an_older_revision_is_still_migrated_at_start(database_url: str) -> None:
    previous = migration.script_revisions()[migration.head_revision()]
    assert previous is not None
    on_connection(database_url, lambda connection: migration.upgrade(connection, previous))
    assert "alembic" in machinery_loaded_by_a_start(database_url)
    assert on_connection(database_url, migration.current_revision) == migration.head_revision()
    assert machinery_loaded_by_a_start(database_url) == []
