"""Shared fixtures: a private D-Bus session bus and the real backend process on it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.dbus import PrivateBus, isolated_environment
from tests.fixtures.ejabberd import EjabberdServer, XmppServer, ejabberd_server
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


# -- the two XMPP servers ----------------------------------------------------------------------
#: servers the XMPP suites know; a test runs on ejabberd too when marked ``ejabberd``
XMPP_SERVERS = ("prosody", "ejabberd")
#: reason of a ``prosody_only`` test whose checks are the backend's own (the server plays no part)
OWN_CHECKS_ONLY = "checks the backend's own validation, whatever the server: once is enough"
#: reason of a ``prosody_only`` test of the cache's reconnection check (doc/developer.rst)
LAST_ITEM_RACE = ("ejabberd sends a node's last item again on re-subscription "
                  "(send_last_published_item): it arrives before the reconnection check's own events")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--xmpp-servers", default=os.environ.get("SAT_TEST_SERVERS", ",".join(XMPP_SERVERS)),
        help="comma-separated XMPP servers to test against (default: env SAT_TEST_SERVERS, "
             "else all of: " + ", ".join(XMPP_SERVERS) + "); tests of the others are deselected",
    )


def chosen_xmpp_servers(config: pytest.Config) -> set[str]:
    """The servers of ``--xmpp-servers``; a name we do not know stops the run at once."""
    names = {name.strip() for name in config.getoption("--xmpp-servers").split(",") if name.strip()}
    unknown = names - set(XMPP_SERVERS)
    if unknown or not names:
        raise pytest.UsageError(f"--xmpp-servers: unknown {sorted(unknown)}; known: {XMPP_SERVERS}")
    return names


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ejabberd: runs on ejabberd as well as Prosody (through xmpp_server / fresh_xmpp_server)"
    )
    config.addinivalue_line(
        "markers", "prosody_only(reason): in a module marked ejabberd, this test stays on Prosody (say why)"
    )
    chosen_xmpp_servers(config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using ``xmpp_server`` runs on Prosody, and on ejabberd when marked so."""
    if "xmpp_server_name" in metafunc.fixturenames:
        definition = metafunc.definition
        on_ejabberd = (definition.get_closest_marker("ejabberd") is not None
                       and definition.get_closest_marker("prosody_only") is None)
        metafunc.parametrize("xmpp_server_name", ["prosody", "ejabberd"] if on_ejabberd else ["prosody"])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip: a skip fails the run) the tests of servers not chosen."""
    chosen = chosen_xmpp_servers(config)
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        server = callspec.params.get("xmpp_server_name") if callspec is not None else None
        names = set(getattr(item, "fixturenames", ()))
        if server is None and "ejabberd" in names:
            server = "ejabberd"
        elif server is None and names & {"prosody", "fresh_prosody"}:
            server = "prosody"
        (kept if server is None or server in chosen else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def xmpp_server_name() -> str:
    """Replaced by ``pytest_generate_tests``: the server this test runs against."""
    return "prosody"


@pytest.fixture(scope="session")
def ejabberd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EjabberdServer]:
    """One real ejabberd on loopback for the run, with ``XMPP_ACCOUNTS``."""
    yield from ejabberd_server(tmp_path_factory.mktemp("ejabberd"), XMPP_ACCOUNTS)


@pytest.fixture
def xmpp_server(xmpp_server_name: str, request: pytest.FixtureRequest) -> XmppServer:
    """The session server of this test's parameter (``prosody`` or ``ejabberd``): state
    left by earlier tests stays, as with ``prosody``."""
    if xmpp_server_name == "prosody":
        prosody_server_: ProsodyServer = request.getfixturevalue("prosody")
        return prosody_server_
    return running_ejabberd(request)


def running_ejabberd(request: pytest.FixtureRequest) -> EjabberdServer:
    """The session ejabberd, started again if an earlier test stopped it (same ports, data)."""
    server: EjabberdServer = request.getfixturevalue("ejabberd")
    if server.process is None:
        server.start()
    return server


@pytest.fixture
def fresh_xmpp_server(xmpp_server_name: str, request: pytest.FixtureRequest) -> XmppServer:
    """A server whose accounts hold nothing yet (roster, archive, offline, PEP, the service
    nodes they own): a new Prosody (``fresh_prosody``), or the session ejabberd with its
    accounts deleted and created again (≈50 ms instead of a 1 s boot), started again if an
    earlier test stopped it."""
    if xmpp_server_name == "prosody":
        prosody_server_: ProsodyServer = request.getfixturevalue("fresh_prosody")
        return prosody_server_
    server = running_ejabberd(request)
    server.reset_accounts(XMPP_ACCOUNTS)
    return server
