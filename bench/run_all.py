"""Every bench of issue 14 from one command, then one table: measure | figure(s) | goal | met?

Run by hand (never in tests): ``.venv/bin/python bench/run_all.py [--full] [--only NAME,...]``
(or ``make bench``). Each bench runs as its own process with ``$SAT_BENCH_RECORD`` set, so
it appends its figures as JSON lines (:mod:`bench.record`); the table is built from those
(:mod:`bench.goals`). Default sizes finish in a few minutes on a 2-core machine; ``--full``
uses the sizes the issue's goals are set for (100k items, a 10,000-message flood). The
printed output of every bench is kept in a directory named at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.goals import table  # noqa: E402
from bench.machine_speed import reference_ms  # noqa: E402
from bench.record import ENV  # noqa: E402

#: bench → (arguments by default, arguments with --full)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "bench_start": (["--starts", "3"], ["--starts", "5"]),
    "bench_params": (["--calls", "2000"], ["--calls", "5000"]),
    "bench_cache_page": (["--sizes", "1000,10000", "--runs", "1"], ["--sizes", "1000,10000,100000", "--runs", "3"]),
    "bench_pubsub_search": (["--items", "10000", "--ranked-runs", "3"], ["--items", "100000", "--ranked-runs", "3"]),
    "bench_pubsub_cache": (["--items", "1000", "--reads", "5", "--events", "300"],
                           ["--items", "1000", "--reads", "15", "--events", "1000"]),
    "bench_pubsub_cache_postgresql": (["--postgresql", "--items", "1000", "--reads", "5", "--events", "300"],
                                      ["--postgresql", "--items", "1000", "--reads", "15", "--events", "1000"]),
    "bench_pubsub_ingest": (["--items", "1000", "--runs", "3", "--burst", "10000"],
                            ["--items", "1000", "--runs", "3", "--burst", "10000"]),
    "bench_messaging": (["--messages", "1000", "--connects", "3"], ["--messages", "10000", "--connects", "10"]),
    "bench_mam_catch_up": (["--messages", "1000"], ["--messages", "5000"]),
    "bench_bridge": (["--calls", "500", "--starts", "2"], ["--calls", "2000", "--starts", "5"]),
    "bench_microblog_cache": (["--posts", "100", "--reads", "5"], ["--posts", "500", "--reads", "15"]),
    "bench_call": (["--runs", "3"], ["--runs", "5"]),
    "bench_unread": (["--messages", "100000", "--runs", "3"], ["--messages", "100000", "--runs", "5"]),
    "bench_history_lookups": (["--messages", "100000", "--runs", "100"], ["--messages", "100000", "--runs", "300"]),
}

#: entries of BENCHES that run another entry's script with other arguments
SCRIPTS = {"bench_pubsub_cache_postgresql": "bench_pubsub_cache"}


def run_bench(name: str, arguments: list[str], records: Path, logs: Path) -> bool:
    """One bench as a child process; its output goes to ``logs/name.txt``. True if it succeeded."""
    env = {**os.environ, ENV: str(records)}
    started = time.perf_counter()
    with (logs / f"{name}.txt").open("wb") as log:
        script = ROOT / "bench" / f"{SCRIPTS.get(name, name)}.py"
        code = subprocess.call([sys.executable, str(script), *arguments],
                               env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    state = "ok" if code == 0 else f"FAILED (exit {code}; see its output)"
    print(f"  {name:30s} {time.perf_counter() - started:6.0f} s  {state}", flush=True)
    return code == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (long: tens of minutes)")
    parser.add_argument("--only", help="comma-separated bench names (default: all)")
    options = parser.parse_args()
    names = options.only.split(",") if options.only else list(BENCHES)
    logs = Path(tempfile.mkdtemp(prefix="sat-bench-all-"))
    records = logs / "figures.jsonl"
    records.touch()
    before = reference_ms()
    print(f"running {len(names)} benches ({'full' if options.full else 'default'} sizes), one at a time:")
    failed = [name for name in names if not run_bench(name, BENCHES[name][options.full], records, logs)]
    figures = [json.loads(line) for line in records.read_text().splitlines() if line]
    print()
    print(table(figures))
    print(f"\nmachine speed reference (bench/machine_speed.py, CPU of a fixed workload, lower is faster): "
          f"{before:.1f} ms before the benches, {reference_ms():.1f} ms after; CPU-bound figures "
          "from a run whose reference is far from ~80 ms are suspect")
    print(f"\neach bench's own output and figures.jsonl: {logs}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
