"""A start imports what it needs: no Alembic on a database at head, which an older one
still gets migrated with; no module only a later call needs.

Alembic (with Mako and Pygments) is the biggest import a start could skip (issue 14):
the storage start reads the stored revision with a plain query and imports it only to
create or migrate the schema. Each start runs in its own interpreter, which reports the
modules it loaded, so the tests observe the imports, never the time they take. The whole
backend's start is also observed at the moment its bridge would take the bus name: what
is imported or configured by then delays the name, and a frontend with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, inspect

from sat_backend.memory import migration
from tests.integration.test_migrations import on_connection

MACHINERY = ("alembic", "mako", "pygments")
#: needed by a later call only: the first reaction (regex), the first cache search (its
#: engine), a search on PostgreSQL
LATER = ("regex", "sat_backend.memory.pubsub_search", "sqlalchemy.dialects.postgresql")

START = """
import asyncio, json, sys
from sat_backend.memory.sqla import Storage
if sys.argv[2] == "backend":  # what the launcher imports, and every plugin
    import sat_backend.core.launcher, sat_backend.core.host, sat_bridge.service
    from sat_backend.core import plugin_loader
    plugin_loader.discover()

async def start():
    storage = Storage(sys.argv[1])
    await storage.initialise()
    await storage.close()

asyncio.run(start())
print(json.dumps(sorted(name for name in sys.argv[3:] if name in sys.modules)))
"""


def loaded_by_a_start(database_url: str, modules: tuple[str, ...], what: str = "storage") -> list[str]:
    """Start the storage on ``database_url`` in a new interpreter (after importing the
    backend and its plugins if ``what`` is ``"backend"``); which of ``modules`` it imported."""
    result = subprocess.run(
        [sys.executable, "-c", START, database_url, what, *modules],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_a_start_on_a_database_at_head_does_not_import_alembic(database_url: str) -> None:
    assert loaded_by_a_start(database_url, MACHINERY) == []  # created, stamped at head without it
    assert on_connection(database_url, migration.current_revision) == migration.head_revision()
    assert loaded_by_a_start(database_url, MACHINERY) == []


def test_our_stamp_makes_the_version_table_alembic_makes(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A new database is stamped without Alembic: its version table must be the one
    ``alembic stamp`` makes (columns, types, primary key name), so that Alembic migrates
    it later as if it had stamped it itself."""
    from alembic import command

    def version_table(connection: Connection) -> tuple[Any, ...]:
        inspector = inspect(connection)
        columns = [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(migration.VERSION_TABLE)]
        return columns, inspector.get_pk_constraint(migration.VERSION_TABLE), migration.current_revision(connection)

    def our_stamp(connection: Connection) -> tuple[Any, ...]:
        migration.stamp_head(connection)
        return version_table(connection)

    def alembic_stamp(connection: Connection) -> tuple[Any, ...]:
        command.stamp(migration.alembic_config(connection), "head")
        return version_table(connection)

    if database_url.startswith("sqlite"):
        other_url = f"sqlite+aiosqlite:///{tmp_path / 'stamped-by-alembic.db'}"
    else:
        other_url = request.getfixturevalue("postgres_cluster").create_database()
    ours = on_connection(database_url, our_stamp)
    assert ours[2] == migration.head_revision()
    assert on_connection(other_url, alembic_stamp) == ours


def test_a_database_at_an_older_revision_is_still_migrated_at_start(database_url: str) -> None:
    previous = migration.script_revisions()[migration.head_revision()]
    assert previous is not None
    on_connection(database_url, lambda connection: migration.upgrade(connection, previous))
    assert "alembic" in loaded_by_a_start(database_url, MACHINERY)
    assert on_connection(database_url, migration.current_revision) == migration.head_revision()
    assert loaded_by_a_start(database_url, MACHINERY) == []


def test_the_backend_and_its_plugins_import_no_module_only_a_later_call_needs(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}"
    loaded_by_a_start(database_url, ())  # created
    assert loaded_by_a_start(database_url, MACHINERY + LATER, what="backend") == []


NAME_TAKEN = """
import asyncio, json, sys
from pathlib import Path

loop = asyncio.new_event_loop()  # as the launcher: Twisted's reactor comes at its first use
asyncio.set_event_loop(loop)

import sat_backend.core.launcher, sat_backend.core.domish_serializer, sat_backend.core.jids, sat_bridge.service
from sat_backend.core.config import Config
from sat_backend.core.host import Backend
from sat_bridge.dispatch import BridgeDispatcher
seen = {}

def loaded():
    return sorted(name for name in sys.argv[3:] if name in sys.modules)

class NameTaker(BridgeDispatcher):
    async def start(self):  # where the D-Bus bridge takes the bus name
        seen["modules"] = loaded()
        mapping = sys.modules.get("sat_backend.memory.sqla_mapping")  # not imported here: it is observed
        mappers = mapping.Base.registry.mappers if mapping else ()
        seen["configured"] = sorted(m.class_.__name__ for m in mappers if m.configured)

    async def stop(self):
        pass

    def emit(self, name, *args):
        pass

if sys.argv[2] == "first-calls-sql":  # what SQLAlchemy executes (imported by this mode alone)
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    seen["engine_sql"] = []
    event.listen(Engine, "before_cursor_execute", lambda *args: seen["engine_sql"].append(args[2]))

async def start():
    backend = Backend(Config(data_dir=Path(sys.argv[1])), NameTaker())
    await backend.start()
    if sys.argv[2] == "create-profile":
        await backend.profile_create("alice", "alice@example.org", "secret", "{}")
    if sys.argv[2].startswith("first-calls"):  # what a frontend asks first: the profiles, a param of one
        profiles = await backend.profiles_list()
        seen["answers"] = [profiles, await backend.param_get("Connection", "JabberID", profiles[0])]
        seen["after_first_calls"] = loaded()
    await backend.stop()

loop.run_until_complete(start())
print(json.dumps(seen))
"""


def at_name_taken(data_dir: Path, modules: tuple[str, ...] = (), then: str = "stop") -> dict[str, Any]:
    """Start the whole backend (storage, plugins) in a new interpreter on ``data_dir``;
    what it had loaded when its bridge took the bus name: which of ``modules``, and
    which ORM mappers were configured. ``then="first-calls"``: it then answers
    ``ProfilesList`` and ``ParamGet`` (``answers``) and tells what it had loaded after
    them; ``then="first-calls-sql"``: the same, and ``engine_sql`` lists the statements
    SQLAlchemy executed meanwhile (since the start); ``then="create-profile"``: it
    creates the profile they read."""
    result = subprocess.run(
        [sys.executable, "-c", NAME_TAKEN, str(data_dir), then, *modules],
        capture_output=True, text=True, timeout=120, check=True,
    )
    seen: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return seen


def test_the_name_is_taken_before_any_orm_mapper_is_configured(tmp_path: Path) -> None:
    """Configuring the mappers (~10 ms, at the first ORM statement) waits until after
    the start: the nodes left mid-sync are read with Core SQL."""
    at_name_taken(tmp_path)  # created
    assert at_name_taken(tmp_path)["configured"] == []


def test_the_name_is_taken_before_the_xmpp_client_stack_is_imported(tmp_path: Path) -> None:
    """Twisted's jabber client (with its XPath parser), SASL and endpoints are imported
    by the first connection (~15 ms), not by a start."""
    stack = ("sat_backend.core.xmpp.client", "twisted.words.protocols.jabber.client", "twisted.internet.endpoints")
    at_name_taken(tmp_path)  # created
    assert at_name_taken(tmp_path, stack)["modules"] == []


#: ~80 ms of CPU to import (issue 14): the ORM comes with the async extension
ORM = ("sqlalchemy.orm", "sqlalchemy.ext.asyncio", "sat_backend.memory.sqla_mapping")


def test_the_name_is_taken_before_the_orm_is_imported(tmp_path: Path) -> None:
    """A start on an SQLite file runs Core statements only (schema, nodes left
    mid-sync): the async engine and the ORM classes come with the first call that needs
    them, after the name is owned; on a new database as on one at head."""
    assert at_name_taken(tmp_path, ORM)["modules"] == []  # created
    assert at_name_taken(tmp_path, ORM)["modules"] == []


#: imported by the first call that needs them (issue 14): the SDP model (13 checked
#: dataclasses, ~12 ms of CPU) and the SDP and Jingle converters by the first audio/video
#: call (``sat_backend.plugins.jingle.lazy``); lxml (~8 ms) by the first XML payload
#: parsed or indexed (``xml_payloads.etree``); the text indexer of pubsub items by the
#: first item received or stored (``pubsub_fts``, ~4 ms); tx-xmpp's pubsub client and
#: data forms (``plugins/tx_xmpp_modules.py``)
FIRST_USE_ONLY = (
    "sat_backend.plugins.jingle.model", "sat_backend.plugins.jingle.sdp",
    "sat_backend.plugins.jingle.actions", "sat_backend.plugins.jingle.jingle_xml", "lxml", "lxml.etree",
    "sat_backend.memory.pubsub_fts",
    "tx_xmpp.pubsub", "tx_xmpp.data_form", "tx_xmpp.rsm", "sat_backend.plugins.pubsub_handler",
    "twisted.protocols.tls",  # the reactor and Twisted's XML stream, by the first connection
    "OpenSSL",  # with the TLS stack
    "cryptography",  # with the TLS stack, or the first password encrypted or decrypted
)


def test_the_name_is_taken_before_the_modules_only_a_first_use_needs(tmp_path: Path) -> None:
    """The plugins of calls, pubsub and MUC load without them; what needs them imports them
    at its first use, as the integration tests of those features show: calls
    (``test_calls_signalling.py``, ``test_calls_jingle_message.py``), pubsub payloads,
    the cache, its index and search (``test_pubsub.py``, ``test_pubsub_cache.py``,
    ``test_pubsub_search.py``, ``test_pubsub_search_terms.py``, and ``test_migrations.py``
    for the index made with the schema), pubsub notifications, owner use cases and
    paging (``test_pubsub_cache_live_events.py``, ``test_pubsub_owner.py``,
    ``test_pubsub_paging.py``), MUC bookmarks and room configuration
    (``test_muc_bookmarks.py``, ``test_muc.py``), microblog (``test_microblog.py``)."""
    at_name_taken(tmp_path)  # created
    assert at_name_taken(tmp_path, FIRST_USE_ONLY)["modules"] == []


#: a start on an SQLite file at head reads with plain ``sqlite3`` (issue 14): SQLAlchemy
#: and the storage modules that build Core statements at import (~730 M instructions,
#: ~225 ms of CPU) come with the first call that needs them; creating or migrating the
#: database still imports them
SQLALCHEMY = (
    "sqlalchemy", "sat_backend.memory.tables", "sat_backend.memory.short_statements",
    "sat_backend.memory.start_statements", "sat_backend.memory.migration", "sat_backend.memory.history_writes",
    "sat_backend.memory.message_changes_storage", "sat_backend.memory.read_state_storage",
    "sat_backend.memory.history_order", "sat_backend.memory.pubsub_cache_storage",
    "sat_backend.memory.pubsub_cache_pages", "sat_backend.memory.engine_calls",
)


def test_the_name_is_taken_on_a_database_at_head_without_sqlalchemy(tmp_path: Path) -> None:
    """Its revision, the nodes left mid-sync: plain SQL generated from the Core statements
    (``memory/start_sql.py``); the first start, which creates the database, imports it."""
    assert "sqlalchemy" in at_name_taken(tmp_path, SQLALCHEMY)["modules"]  # created
    assert at_name_taken(tmp_path, SQLALCHEMY)["modules"] == []


def test_the_first_calls_of_a_frontend_are_answered_without_the_orm(tmp_path: Path) -> None:
    """Ready as soon as the name is owned: the profile list and a param are plain reads
    on the loop's connection, so the first answers do not wait for the import of
    SQLAlchemy, the ORM nor the storage modules built on them (nor for the modules only
    calls and XML payloads need)."""
    at_name_taken(tmp_path, then="create-profile")
    seen = at_name_taken(tmp_path, ORM + FIRST_USE_ONLY + SQLALCHEMY, then="first-calls")
    assert seen["answers"] == [["alice"], "alice@example.org"]
    assert seen["after_first_calls"] == []


def test_a_start_at_head_and_the_first_calls_run_no_statement_through_sqlalchemy(tmp_path: Path) -> None:
    """The schema check, the nodes left mid-sync, the profile list and the param are
    plain SQL on ``sqlite3`` (``memory/start_sql.py``, generated from their Core
    statements): SQLAlchemy's engines execute nothing until after the first answers."""
    at_name_taken(tmp_path, then="create-profile")
    seen = at_name_taken(tmp_path, then="first-calls-sql")
    assert seen["answers"] == [["alice"], "alice@example.org"]
    assert seen["engine_sql"] == []
