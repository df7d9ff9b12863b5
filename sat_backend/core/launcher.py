"""``sat-backend``: run the daemon in the foreground, or start/stop/query it.

``fg`` starts the backend on an asyncio loop (Twisted's asyncio reactor is installed on
it at its first use, see :mod:`~sat_backend.core.reactor_on_loop`), and runs until
SIGTERM/SIGINT. ``start`` runs ``fg`` detached with its log in
a file and returns once the backend owns its bus name (or says why it could not);
``stop`` and ``status`` use the PID file in the XDG runtime dir. Whatever the session's
umask, the files the daemon creates (log, database and its WAL/SHM) are 0600.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sat_backend import __version__
from sat_backend.core import pidfile
from sat_backend.core.config import Config, ConfigError, load_config
from sat_backend.core.constants import (
    EXIT_BUS,
    EXIT_CANT_CREATE,
    EXIT_CONFIG,
    EXIT_DATABASE,
    EXIT_ERROR,
    EXIT_NOT_RUNNING,
    EXIT_OK,
    EXIT_STALE_PID,
)
from sat_backend.core.logs import LogFileError, prepare_log_file, setup_logging
from sat_backend.core.private_files import restrict_umask

log = logging.getLogger("sat_backend")

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    restrict_umask()
    config = _config_for(options.command, options.config)
    if config is None:
        return EXIT_CONFIG
    if options.command == "fg":
        return run_foreground(config, options.log_level, options.log_file, options.ready_fd)
    if options.command == "start":
        return start_daemon(config, options.config, options.log_level)
    if options.command == "stop":
        return stop_daemon(config)
    return print_status(config)


def _config_for(command: str, path: Path | None) -> Config | None:
    """The configuration, or None (said on stderr) when it is unusable. ``stop`` and
    ``status`` use none of its values (the PID file is in the XDG runtime dir): for
    them an unusable file is a warning, so a typo never keeps a daemon from stopping."""
    try:
        return load_config(path)
    except ConfigError as exc:
        if command in ("stop", "status"):
            print(f"sat-backend: warning: {exc}", file=sys.stderr)
            return Config()
        print(f"sat-backend: {exc}", file=sys.stderr)
        return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sat-backend", description="SàT XMPP client backend")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common_options(parser)
    # every form also takes them after its name (``sat-backend start --config X``)
    common = _add_common_options(argparse.ArgumentParser(add_help=False), default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fg = commands.add_parser("fg", parents=[common], help="run in the foreground, logging to stderr")
    fg.add_argument("--log-file", type=Path, help="log to this file instead of stderr")
    fg.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    commands.add_parser("start", parents=[common], help="start the daemon in the background")
    commands.add_parser("stop", parents=[common], help="stop the running daemon")
    commands.add_parser("status", parents=[common], help="tell whether the daemon runs (exit 0) or not (3)")
    return parser


def _add_common_options(parser: argparse.ArgumentParser, default: object = None) -> argparse.ArgumentParser:
    """``--config`` and ``--log-level``; a subcommand's copy has ``default=SUPPRESS`` so
    that it never overwrites a value given before the subcommand's name."""
    parser.add_argument(
        "--config", type=Path, default=default, help="config file (default: $XDG_CONFIG_HOME/sat/sat.conf)"
    )
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], default=default,
        help="override [log] level",
    )
    return parser


def run_foreground(
    config: Config, log_level: str | None, log_file: Path | None, ready_fd: int | None
) -> int:
    """Run the backend until it is stopped; returns the process exit code.

    The collector is paused from here (before Twisted's logger and asyncio are
    imported, not only before the backend) until the start is over."""
    pause_gc_for_start()
    try:
        setup_logging(log_level or config.log_level, log_file)
    except LogFileError as exc:
        print(f"sat-backend: {exc}", file=sys.stderr)
        return EXIT_CANT_CREATE
    running = pidfile.running_pid(config.pid_file)
    if running is not None:
        log.error("another sat-backend (pid %d) is already running for this user", running)
        return EXIT_BUS
    pidfile.write(config.pid_file)
    try:
        return _run_loop(config, ready_fd)
    finally:
        pidfile.remove(config.pid_file)


def _run_loop(config: Config, ready_fd: int | None) -> int:
    """Start the backend on a plain asyncio loop, and run the loop until stopped.

    Twisted's reactor is not installed here: :mod:`~sat_backend.core.reactor_on_loop`
    installs it on this loop at its first use (the first connection), so a start never
    imports Twisted's TLS stack (issue 14). Stopping runs the backend's stop, then the
    reactor's shutdown if it was installed, which stops the loop."""
    import asyncio

    from sat_backend.core.allocator import keep_large_buffers

    keep_large_buffers()  # large answers (a 1,000-item page) reuse heap blocks
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    from sat_backend.core import domish_serializer

    domish_serializer.install()  # a peer's deeply nested element must not break a toXml
    from sat_backend.core.jids import cache_jid_preparation

    cache_jid_preparation()  # every stanza's from/to is parsed again and again
    from sat_backend.core import bench_profile

    bench_profile.install()  # only with $SAT_BENCH_CPROFILE set
    from sat_backend.core.exceptions import Conflict, Database
    from sat_backend.core.host import Backend
    from sat_backend.core.reactor_on_loop import stop_loop
    from sat_bridge.service import DBusBridge

    exit_code = [EXIT_OK]
    stopping: list[asyncio.Task[None]] = []

    def stop(code: int | None = None) -> None:
        if code is not None:
            exit_code[0] = code
        if not stopping:  # a second signal while stopping changes nothing
            stopping.append(loop.create_task(shutdown()))

    def bus_lost() -> None:
        # nameless, the daemon is useless: exit non-zero so that activation/systemd restart it
        stop(EXIT_BUS)

    backend = Backend(config, DBusBridge(on_lost=bus_lost))

    async def start() -> None:
        try:
            await backend.start()
        except Database as exc:
            log.error("cannot use the database: %s", exc)
            exit_code[0] = EXIT_DATABASE
        except Conflict as exc:
            log.error("%s", exc)
            exit_code[0] = EXIT_BUS
        except Exception as exc:  # noqa: BLE001 - any start failure stops cleanly
            log.error("start-up failed: %s", exc, exc_info=not _is_bus_error(exc))
            exit_code[0] = EXIT_BUS if _is_bus_error(exc) else EXIT_ERROR
        else:
            _notify_ready(ready_fd)
            return
        finally:
            resume_gc_after_start()
        stop()

    async def shutdown() -> None:
        try:
            if backend.ready.is_set():
                log.info("stopping")
                await backend.stop()
        except Exception:  # noqa: BLE001 - the loop must stop all the same
            log.exception("the backend failed to stop cleanly")
        finally:
            stop_loop(loop)

    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop)
    starting = loop.create_task(start())  # kept: the loop holds its tasks weakly
    try:
        loop.run_forever()
    finally:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)
    return exit_code[0]


def pause_gc_for_start() -> None:
    """No garbage collection while the start imports and builds its long-lived objects:
    the collector would scan them over and over (some 200 collections, 3-5 % of the
    start's CPU) and find next to nothing to free (a few thousand objects)."""
    gc.disable()


def resume_gc_after_start() -> None:
    """Collect again once started (or failed), after moving what the start made to the
    permanent generation (:func:`gc.freeze`): later full collections skip those objects.
    Not collected first, so that a first call is not kept waiting by a full collection.
    Modules imported later are frozen after a full collection (:mod:`.frozen_heap`)."""
    from sat_backend.core import frozen_heap

    frozen_heap.freeze()
    gc.enable()


def _is_bus_error(exc: Exception) -> bool:
    return isinstance(exc, (OSError, ConnectionError)) or type(exc).__module__.startswith("dbus_fast")


def _notify_ready(ready_fd: int | None) -> None:
    if ready_fd is None:
        return
    try:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    except OSError:
        log.warning("could not tell the starting process that we are ready")


def start_daemon(config: Config, config_path: Path | None, log_level: str | None) -> int:
    """Start ``fg`` detached, wait until it is ready, and report."""
    running = pidfile.running_pid(config.pid_file)
    if running is not None:
        print(f"sat-backend is already running (pid {running})")
        return EXIT_OK
    try:
        prepare_log_file(config.log_file)  # said here: the daemon's stderr goes nowhere
    except LogFileError as exc:
        print(f"sat-backend: {exc}", file=sys.stderr)
        return EXIT_CANT_CREATE
    read_end, write_end = os.pipe()
    command = [sys.executable, "-m", "sat_backend"]
    if config_path is not None:
        command += ["--config", str(config_path)]
    if log_level:
        command += ["--log-level", log_level]
    command += ["fg", "--log-file", str(config.log_file), "--ready-fd", str(write_end)]
    with open(os.devnull, "rb") as devnull:
        process = subprocess.Popen(
            command, stdin=devnull, stdout=devnull, stderr=devnull,
            pass_fds=(write_end,), start_new_session=True,
        )
    os.close(write_end)
    ready = _wait_ready(read_end, process)
    if ready:
        print(f"sat-backend started (pid {process.pid}), log: {config.log_file}")
        return EXIT_OK
    code = process.poll()
    print(
        f"sat-backend failed to start (exit code {code}); see {config.log_file}",
        file=sys.stderr,
    )
    return code if code not in (None, 0) else EXIT_ERROR


def _wait_ready(read_end: int, process: subprocess.Popen[bytes]) -> bool:
    """True once the child wrote "ready"; False if it closed the pipe (exited) or timed out."""
    import selectors

    deadline = time.monotonic() + START_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(read_end, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if selector.select(remaining):
                data = os.read(read_end, 64)
                os.close(read_end)
                if data.startswith(b"ready"):
                    return True
                process.wait(STOP_TIMEOUT)
                return False
    os.close(read_end)
    process.terminate()
    return False


def stop_daemon(config: Config) -> int:
    pid = pidfile.running_pid(config.pid_file)
    if pid is None:
        print("sat-backend is not running")
        return EXIT_NOT_RUNNING
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not pidfile.is_alive(pid):
            print(f"sat-backend stopped (pid {pid})")
            return EXIT_OK
        time.sleep(0.05)
    print(f"sat-backend (pid {pid}) did not stop within {STOP_TIMEOUT:g} s", file=sys.stderr)
    return EXIT_ERROR


def print_status(config: Config) -> int:
    """LSB-style: 0 running, 1 dead with a stale PID file, 3 not running."""
    pid = pidfile.running_pid(config.pid_file)
    if pid is not None:
        print(f"sat-backend is running (pid {pid})")
        return EXIT_OK
    if config.pid_file.exists():
        print(f"sat-backend is not running (stale PID file {config.pid_file})")
        return EXIT_STALE_PID
    print("sat-backend is not running")
    return EXIT_NOT_RUNNING


if __name__ == "__main__":
    sys.exit(main())
