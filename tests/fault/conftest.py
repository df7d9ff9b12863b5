"""Fixtures of the bridge fuzz: one backend for the whole module, its ledger, its figures."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.conftest import BIN_DIR
from tests.fault.ledger import Ledger
from tests.fault.target import ACCOUNTS, PROFILE, FuzzTarget
from tests.fixtures.dbus import PrivateBus, isolated_environment
from tests.fixtures.prosody import ProsodyServer

_LEDGER = pytest.StashKey[Ledger]()


@pytest.fixture(scope="module")
def ledger(request: pytest.FixtureRequest) -> Ledger:
    """Tallies of the module's calls; printed in the terminal summary."""
    books = Ledger()
    request.config.stash[_LEDGER] = books
    return books


@pytest.fixture(scope="module")
def fuzz_target(
    session_bus: PrivateBus, prosody: ProsodyServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    """One real backend for every batch (a batch that kills it gets a new one), with the
    fuzz's own accounts on the session Prosody."""
    for user, password in ACCOUNTS.items():
        prosody.register(user, password)
    directory = tmp_path_factory.mktemp("fuzz")
    env = isolated_environment(directory / "env", BIN_DIR)
    env["DBUS_SESSION_BUS_ADDRESS"] = session_bus.address
    target = FuzzTarget(env, directory, prosody)
    target.start()
    yield target
    target.stop()


@pytest.fixture
def online_target(fuzz_target: FuzzTarget) -> FuzzTarget:
    """The target with the fuzz profile connected (a batch may have disconnected it)."""
    fuzz_target.client.connect(PROFILE)
    return fuzz_target


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    books = config.stash.get(_LEDGER, None)
    if books is not None:
        terminalreporter.section("bridge fuzz figures")
        for line in books.summary().splitlines():
            terminalreporter.write_line(line)
