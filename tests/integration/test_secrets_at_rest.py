"""Passwords given over the bridge are stored encrypted: never in the database files, never
in the log, usable by the backend after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sat_backend.core.param_values import ParamValues
from sat_backend.core.params import ParamsRegistry
from sat_backend.core.secrets import SecretBox, SecretError
from sat_backend.memory.sqla import Storage
from tests.fixtures.backend import BackendProcess

PASSWORD = "unique-Pa55word-7f3a"


def database_bytes(data_dir: Path) -> bytes:
    """The database file and its WAL, as a thief with a backup would read them."""
    return b"".join(path.read_bytes() for path in data_dir.glob("sat.db*"))


def test_password_is_encrypted_in_the_database_and_absent_from_the_log(backend: BackendProcess) -> None:
    assert backend.client is not None
    backend.client.profile_create("alice", "alice@example.org", PASSWORD, "{}")
    backend.client.param_set("Connection", "Password", PASSWORD + "-2", "alice")
    data_dir = Path(backend.env["XDG_DATA_HOME"]) / "sat"
    raw = database_bytes(data_dir)
    assert raw, "no database file found"
    assert PASSWORD.encode() not in raw
    assert b"v1:" in raw  # the encrypted token is there
    backend.stop()
    assert PASSWORD not in backend.log_text()
    assert PASSWORD.encode() not in database_bytes(data_dir)


def test_backend_reads_the_password_back_after_a_restart(tmp_path: Path) -> None:
    """What the XMPP login will do: decrypt with the key file, across a close and reopen."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}"
    key_path = tmp_path / "secret.key"

    async def values() -> tuple[Storage, ParamValues]:
        storage = Storage(url)
        await storage.initialise()
        return storage, ParamValues(ParamsRegistry.with_core_params(), storage,
                                    SecretBox.load_or_create(key_path))

    async def scenario() -> str:
        storage, params = await values()
        await storage.create_profile("alice")
        await params.set("Connection", "Password", PASSWORD, "alice")
        await storage.close()
        storage, params = await values()
        try:
            return await params.get_secret("Connection", "Password", "alice")
        finally:
            await storage.close()

    assert asyncio.run(scenario()) == PASSWORD

    async def with_new_key() -> str:
        key_path.unlink()
        storage, params = await values()
        try:
            return await params.get_secret("Connection", "Password", "alice")
        finally:
            await storage.close()

    with pytest.raises(SecretError, match="set the password again"):
        asyncio.run(with_new_key())
