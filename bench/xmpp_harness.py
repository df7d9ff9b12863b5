"""What the XMPP benchmarks share: a private bus, a throw-away Prosody, the real backend,
and one profile per account pointing at that server (TLS verified with its CA)."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.record import record, rss_mb  # noqa: E402
from sat_bridge.client import BridgeClient  # noqa: E402
from tests.fixtures.backend import BackendProcess  # noqa: E402
from tests.fixtures.dbus import PrivateBus, isolated_environment  # noqa: E402
from tests.fixtures.prosody import ProsodyServer, prosody_server  # noqa: E402

BIN = Path(sys.executable).parent


@dataclass
class BenchEnvironment:
    """What :func:`bench_environment` started: the bridge client, the server, the backend
    process (its pid for CPU and memory figures)."""

    client: BridgeClient
    server: ProsodyServer
    backend: BackendProcess
    env: dict[str, str]
    """The environment (private bus) for ``sat`` subprocesses."""


@contextmanager
def xmpp_bench(accounts: Mapping[str, str], profiles: tuple[str, ...]) -> Iterator[tuple[BridgeClient, ProsodyServer]]:
    """Everything started; ``profiles`` (a subset of ``accounts``) created, not connected."""
    with bench_environment(accounts, profiles) as environment:
        yield environment.client, environment.server


@contextmanager
def bench_environment(accounts: Mapping[str, str], profiles: tuple[str, ...],
                      database_url: str | None = None, offline_storage: bool = True) -> Iterator[BenchEnvironment]:
    """As :func:`xmpp_bench`; the backend stores in ``database_url`` when given (its
    ``sat.conf``), else in its default SQLite file; ``offline_storage``: see
    :class:`~tests.fixtures.prosody.ProsodyServer`."""
    with tempfile.TemporaryDirectory(prefix="sat-bench-") as directory:
        root = Path(directory)
        env = isolated_environment(root / "env", BIN)
        if database_url:
            config = Path(env["XDG_CONFIG_HOME"]) / "sat"
            config.mkdir(parents=True, exist_ok=True)
            (config / "sat.conf").write_text(f"[storage]\ndatabase_url = {database_url}\n", encoding="utf-8")
        bus = PrivateBus(root / "bus", env)
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.start()
        server_steps = prosody_server(root / "prosody", accounts, offline_storage=offline_storage)
        server = next(server_steps)
        backend = BackendProcess(env, root / "backend.log")
        try:
            client = backend.start()
            assert backend.process is not None
            record("rss_mb", rss_mb(backend.process.pid), bench=Path(sys.argv[0]).stem, phase="after start")
            for user in profiles:
                client.profile_create(user, f"{user}@{server.domain}", accounts[user], json.dumps(
                    {"host": server.host, "port": server.c2s_port, "tls": "required", "ca_file": str(server.ca_file)}
                ))
            yield BenchEnvironment(client, server, backend, env)
            # the backend's resident memory once the bench's work is done, before it stops
            assert backend.process is not None
            record("rss_mb", rss_mb(backend.process.pid), bench=Path(sys.argv[0]).stem)
        finally:
            backend.stop()
            server_steps.close()
            bus.stop()


class SignalCounter:
    """Counts a bridge signal until ``expected`` matching ones arrived (set from the
    client's thread; :meth:`wait` in the benchmark's)."""

    def __init__(self, client: BridgeClient, name: str, expected: int,
                 accept: Callable[..., bool] = lambda *args: True) -> None:
        self.expected = expected
        self.received = 0
        self._accept = accept
        self._done = threading.Event()
        client.on_signal(name, self._on_signal)

    def _on_signal(self, *args: object) -> None:
        if self._accept(*args):
            self.received += 1
            if self.received == self.expected:
                self._done.set()

    def wait(self, timeout: float) -> None:
        """:raises SystemExit: fewer signals than expected within ``timeout``."""
        if not self._done.wait(timeout):
            raise SystemExit(f"only {self.received} of {self.expected} signals arrived")
