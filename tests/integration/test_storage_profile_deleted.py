"""A write racing the deletion of its profile, on SQLite and PostgreSQL: the handler that
stores it learns the profile is gone (``ProfileUnknown``), not a storage conflict or
fault with the driver's IntegrityError (foreign key) in the log."""

from __future__ import annotations

import logging

import pytest

from sat_backend.core.exceptions import ProfileUnknown
from sat_backend.memory.sqla import Storage
from sat_backend.memory.sqla_mapping import PrivateIndividual
from tests.integration.test_storage import run_with_storage


def test_a_write_for_a_profile_deleted_meanwhile_is_profile_unknown(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(storage: Storage) -> None:
        await storage.create_profile("alice")
        await storage.create_profile("bob")
        async with storage.session() as session:
            alice_id = await storage.profile_id(session, "alice")
        with caplog.at_level(logging.INFO), pytest.raises(ProfileUnknown, match="deleted"):
            async with storage.session() as session:
                # the id was looked up (cached) before the deletion commits on another connection
                await storage.delete_profile("alice")
                session.add(PrivateIndividual(namespace="ns", key="k", profile_id=alice_id, value=1))
        assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
        # the other profiles are untouched, and a write for a profile that never existed is
        # still refused as such
        await storage.set_private("ns", "k", 2, "bob")
        assert await storage.get_private("ns", "k", "bob") == 2
        with pytest.raises(ProfileUnknown, match="no profile named 'alice'"):
            await storage.set_private("ns", "k", 3, "alice")

    run_with_storage(database_url, scenario)
