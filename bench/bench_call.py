"""Call benchmark: time from spawning ``sat call`` to its first audio frame received.

Run by hand (never in tests): ``.venv/bin/python bench/bench_call.py [--runs N]``.
Starts a private bus, a throw-away Prosody on loopback and the real backend with alice
and bob (contacts of each other); then, per run, bob waits with ``sat call answer`` and
alice's ``sat -O json call`` is spawned, to bob's full JID (one device rings, Jingle at
once) and to his bare JID (XEP-0353: propose, proceed, then Jingle). Printed per call:

* spawn → first audio frame: wall time from ``Popen`` to the ``first_audio_frame`` line;
* in the command: its ``at_ms`` (from the call handler's start, after the interpreter,
  the CLI imports and the bus connection);
* importing aiortc: the ``engine_loaded`` event's ``import_ms``;

and, once, the cold import of the media engine in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.record import record  # noqa: E402
from bench.xmpp_harness import BIN, SignalCounter, bench_environment  # noqa: E402

ACCOUNTS = {"alice": "alice pw", "bob": "bob pw"}
LOOPBACK = ("--host-address", "127.0.0.1")
CALL_TIMEOUT = 60.0


def spawn(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "sat"), "-O", "json", "call", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_until(process: subprocess.Popen[str], name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The first ``name`` event of ``process``, and every event read by then by name."""
    assert process.stdout is not None
    seen: dict[str, dict[str, Any]] = {}
    for line in process.stdout:
        event = json.loads(line)
        seen.setdefault(event["event"], event)
        if event["event"] == name:
            return event, seen
    raise SystemExit(f"no {name} event; seen {list(seen)}; stderr: {process.stderr.read() if process.stderr else ''}")


def one_call(env: dict[str, str], target: str) -> dict[str, float]:
    bob = spawn(env, "answer", "alice@localhost", *LOOPBACK, "--wait", str(CALL_TIMEOUT), "-p", "bob")
    read_until(bob, "waiting")
    started = time.perf_counter()
    alice = spawn(env, target, "--duration", "0.5", *LOOPBACK, "-p", "alice")
    first, seen = read_until(alice, "first_audio_frame")
    wall_ms = (time.perf_counter() - started) * 1000
    for process in (alice, bob):
        process.communicate(timeout=CALL_TIMEOUT)
        if process.returncode != 0:
            raise SystemExit(f"sat call failed with exit code {process.returncode}")
    return {"spawn_ms": wall_ms, "at_ms": first["at_ms"], "import_ms": seen["engine_loaded"]["import_ms"],
            "answered_ms": seen["answered"]["at_ms"], "calling_ms": seen["calling"]["at_ms"]}


def cold_import_ms() -> float:
    code = ("import time; t = time.perf_counter(); import sat_frontends.calls.driver; "
            "print((time.perf_counter() - t) * 1000)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    imports = [cold_import_ms() for _ in range(3)]
    print(f"import of the media engine (aiortc, PyAV) in a fresh interpreter: "
          f"{', '.join(f'{value:.0f}' for value in imports)} ms")
    with bench_environment(ACCOUNTS, ("alice", "bob")) as environment:
        client, server, env = environment.client, environment.server, environment.env
        jids: dict[str, str] = {}
        client.on_signal("Connected", lambda jid, profile: jids.__setitem__(profile, jid))
        contacts = SignalCounter(client, "ContactNew", 2)
        for user, contact in (("alice", "bob"), ("bob", "alice")):
            client.connect(user)
            client.contact_add(f"{contact}@localhost", user)
        contacts.wait(30)
        targets = {"full JID": jids["bob"], "bare JID": "bob@localhost"}
        print(f"{'call to':10s} {'run':>3s} {'spawn→audio':>12s} {'in command':>11s} {'aiortc import':>14s} "
              f"{'calling':>8s} {'answered':>9s}")
        figures: dict[str, list[float]] = {label: [] for label in targets}
        for run in range(options.runs):  # interleaved, so that a busy moment hits both
            for label, target in targets.items():
                found = one_call(env, target)
                figures[label].append(found["spawn_ms"])
                print(f"{label:10s} {run + 1:3d} {found['spawn_ms']:10.0f}ms {found['at_ms']:9.0f}ms "
                      f"{found['import_ms']:12.0f}ms {found['calling_ms']:6.0f}ms {found['answered_ms']:7.0f}ms",
                      flush=True)
                record("call_first_audio_ms", found["spawn_ms"], target=label, run=run + 1)
        for label, values in figures.items():
            print(f"{label}: median spawn → first audio frame {statistics.median(values):.0f} ms")
        for user in ("alice", "bob"):
            client.disconnect(user)
    return 0


if __name__ == "__main__":
    sys.exit(main())
