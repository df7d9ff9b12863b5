"""The fuzzed backend: a real ``sat-backend`` on the private bus, its profiles, its health.

Three profiles, so that no member can damage the one the online phase needs:

- ``fuzz-default`` is created first and so is the default profile: calls with the ``""``
  alias land on it;
- ``fuzz`` (account ``fuzz@localhost``) is the profile every call uses, connected to the
  session Prosody in the online phase;
- ``fuzz-throwaway`` is what destructive members get instead (see
  :data:`THROWAWAY_MEMBERS`); it is created again whenever a call deleted it.

Dedicated accounts keep the fuzz out of the accounts (rosters, offline messages) the other
tests use on the session Prosody.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sat_bridge.client import BridgeClient
from sat_bridge.spec import Method, full_spec
from tests.fault.hostile_values import FuzzContext
from tests.fault.ledger import Ledger
from tests.fault.raw_bus import Outcome, RawBus
from tests.fixtures.backend import BackendProcess, SignalRecorder
from tests.fixtures.prosody import ProsodyServer

PROFILE = "fuzz"
DEFAULT_PROFILE = "fuzz-default"
THROWAWAY_PROFILE = "fuzz-throwaway"
ACCOUNTS = {"fuzz": "fuzz-secret", "fuzz2": "fuzz2-secret"}
#: The only members not fuzzed on the real profile, and why. Nothing is excluded outright.
THROWAWAY_MEMBERS = {
    "ProfileDelete": "deletes the profile and its data: fuzzed on a throw-away profile, re-created after",
    "ParamSet": "may change the real profile's Connection params (host, password): fuzzed on a throw-away profile",
}
#: members that close the XMPP session on purpose (a lost session is a failure for any other)
SESSION_CLOSING_MEMBERS = {"Disconnect"}
#: strings from successful answers (uids, node names, item ids) offered to later calls
KNOWN_LIMIT = 30
_TRACEBACK = "Traceback (most recent call last)"
_GET_VERSION = next(method for method in full_spec().methods() if method.name == "GetVersion")


class FuzzTarget:
    def __init__(self, env: dict[str, str], directory: Path, prosody: ProsodyServer) -> None:
        self.env = env
        self.prosody = prosody
        self.backend = BackendProcess(env, directory / "backend.log")
        self.raw: RawBus | None = None
        self.sessions: SignalRecorder | None = None
        self.pid = 0
        self.log_offset = 0
        self.known: list[str] = []

    # life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.backend.start()
        assert self.backend.process is not None
        self.pid = self.backend.process.pid
        self.raw = RawBus(self.env["DBUS_SESSION_BUS_ADDRESS"])
        self.sessions = SignalRecorder(self.client, "Disconnected")
        for name, user in ((DEFAULT_PROFILE, "fuzz2"), (PROFILE, "fuzz"), (THROWAWAY_PROFILE, "fuzz2")):
            self.ensure_profile(name, user)

    def stop(self) -> None:
        if self.raw is not None:
            self.raw.close()
            self.raw = None
        self.backend.stop()

    @property
    def client(self) -> BridgeClient:
        assert self.backend.client is not None
        return self.backend.client

    def ensure_profile(self, name: str, user: str) -> None:
        if name in self.client.profiles_list():
            return
        options = {"host": self.prosody.host, "port": self.prosody.c2s_port, "tls": "required",
                   "ca_file": str(self.prosody.ca_file), "autoconnect": False}
        self.client.profile_create(name, f"{user}@{self.prosody.domain}", ACCOUNTS[user], json.dumps(options))

    def renew_profile(self) -> None:
        """Replace the fuzz profile by a new one: what a batch stored in it (a presence
        status that kills the stream at each login…) must not spill into the next batch."""
        self.client.disconnect(PROFILE)
        self.client.profile_delete(PROFILE)
        self.ensure_profile(PROFILE, "fuzz")
        self.known = []

    def sessions_lost(self) -> int:
        """How many times the fuzz profile's XMPP session closed since the last look."""
        assert self.sessions is not None
        lost = 0
        while not self.sessions.received.empty():
            _name, args = self.sessions.received.get_nowait()
            lost += args == (PROFILE,)
        return lost

    def context(self, method: Method) -> FuzzContext:
        profile = THROWAWAY_PROFILE if method.name in THROWAWAY_MEMBERS else PROFILE
        domain = self.prosody.domain
        jids = [f"fuzz2@{domain}", f"fuzz@{domain}", domain, self.prosody.pubsub_service,
                f"nobody@{domain}", f"fuzz2@{domain}/resource"]
        return FuzzContext(profile, jids, list(self.known))

    # calls -----------------------------------------------------------------------------

    def call(self, method: Method, signature: str, body: tuple[object, ...], member: str | None = None) -> Outcome:
        assert self.raw is not None
        outcome = self.raw.call(method, signature, body, member)
        if outcome.ok and len(outcome.body) == 1 and isinstance(outcome.body[0], str):
            self._remember(outcome.body[0])
        if method.name in THROWAWAY_MEMBERS and outcome.ok:
            self.ensure_profile(THROWAWAY_PROFILE, "fuzz2")
        return outcome

    def _remember(self, text: str) -> None:
        if 0 < len(text) <= 100 and text[0] not in "[{" and text not in self.known:
            self.known = [*self.known, text][-KNOWN_LIMIT:]

    # health ----------------------------------------------------------------------------

    def check(self, phase: str, member: str, ledger: Ledger) -> None:
        """After a batch: same PID, still owning the bus name, answering; no new traceback.
        A dead or nameless backend is recorded as a crash and restarted for the next batch."""
        for exception in self.new_tracebacks():
            ledger.add_traceback(phase, member, exception)
        problem = self.health_problem()
        if problem is not None:
            ledger.crash(phase, member, problem)
            self.stop()
            self.start()

    def health_problem(self) -> str | None:
        """What is wrong with the daemon, seen from a new bus connection (the fuzz's own
        may be the one that broke), or None."""
        process = self.backend.process
        if process is None or process.poll() is not None:
            return f"daemon died (exit code {process.returncode if process else None})"
        probe = RawBus(self.env["DBUS_SESSION_BUS_ADDRESS"])
        try:
            owner = probe.owner_pid()
            if owner != self.pid:
                return f"bus name {('owned by pid %s' % owner) if owner else 'unowned'}, daemon pid {self.pid} still running"
            version = probe.call(_GET_VERSION, "", ())
            if not version.ok:
                return f"GetVersion failed: {version.error_name} {version.text[:100]}"
        finally:
            probe.close()
        if self.raw is not None and not self.raw.bus.connected:
            # our side broke (dbus-fast's writer has the same flaw as the daemon's)
            self.raw.close()
            self.raw = RawBus(self.env["DBUS_SESSION_BUS_ADDRESS"])
        return None

    def new_tracebacks(self) -> list[str]:
        """The exception line of every traceback the backend logged since the last look."""
        path = self.backend.log_path
        with path.open("rb") as log_file:
            log_file.seek(self.log_offset)
            data = log_file.read()
        self.log_offset += len(data)
        return exception_lines(data.decode(errors="replace"))


def exception_lines(log_text: str) -> list[str]:
    """``ExcType: message`` (cut short) of each traceback in ``log_text``."""
    found = []
    lines = log_text.splitlines()
    for index, line in enumerate(lines):
        if _TRACEBACK not in line:
            continue
        for following in lines[index + 1 :]:
            if following and not following.startswith((" ", "\t")):
                found.append(re.sub(r"\s+", " ", following)[:120])
                break
    return found
