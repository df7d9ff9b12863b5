"""Shared fixtures: a private D-Bus session bus and the real backend process on it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.dbus import PrivateBus, isolated_environment
from tests.fixtures.postgres import PostgresCluster
from tests.fixtures.prosody import ProsodyServer, prosody_server

BIN_DIR = Path(sys.executable).parent
#: lines of a failed test's backend log shown in its report
BACKEND_LOG_TAIL = 80

#: accounts of the session Prosody (user: password)
XMPP_ACCOUNTS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret", "dave": "dave-secret"}


@pytest.fixture(scope="session")
def session_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBus]:
    """One real ``dbus-daemon`` for the whole run (backends come and go on it)."""
    root = tmp_path_factory.mktemp("bus")
    bus = PrivateBus(root, isolated_environment(root / "env", BIN_DIR))
    bus.start()
    yield bus
    bus.stop()


@pytest.fixture
def backend_env(session_bus: PrivateBus, tmp_path: Path) -> dict[str, str]:
    """Environment of one test's backend and frontends: private XDG dirs, the private bus."""
    env = isolated_environment(tmp_path / "env", BIN_DIR)
    env["DBUS_SESSION_BUS_ADDRESS"] = session_bus.address
    return env


@pytest.fixture
def backend(backend_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[BackendProcess]:
    """The real backend process, started and ready; ``.client`` is a connected client.
    When the test fails, the end of the backend's log goes into the report (CI keeps no
    temporary directories)."""
    process = BackendProcess(backend_env, tmp_path / "backend.log")
    process.start()
    yield process
    process.stop()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        tail = "\n".join(process.log_text().splitlines()[-BACKEND_LOG_TAIL:])
        report.sections.append(("backend log (last lines)", tail))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each test's call report on its node, for fixtures that add to it on failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.report_call = report  # type: ignore[attr-defined]


@pytest.fixture
def signals(backend: BackendProcess) -> SignalRecorder:
    """Records the core signals emitted by ``backend``."""
    assert backend.client is not None
    return SignalRecorder(backend.client, "ParamUpdate")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One real PostgreSQL server on loopback for the run (a database per test)."""
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each supported backend: an SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'sat.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a test that did not run: the suite fails rather than hide it."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_line(
            f"FAILED: {len(skipped)} test(s) skipped, and no test may be skipped", red=True
        )


@pytest.fixture(scope="session")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    """One real Prosody on loopback for the run; tests that restart it make their own."""
    yield from prosody_server(tmp_path_factory.mktemp("prosody"), XMPP_ACCOUNTS)


@pytest.fixture
def fresh_prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    """A Prosody of the test's own, for tests that read archives, rosters or history:
    the session server keeps what earlier tests left in them."""
    yield from prosody_server(tmp_path_factory.mktemp("prosody-fresh"), XMPP_ACCOUNTS)
