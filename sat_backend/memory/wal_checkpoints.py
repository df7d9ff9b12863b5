"""Checkpoints of an SQLite file's write-ahead log, run in a thread of their own.

SQLite checkpoints the WAL in the connection whose commit makes it reach 1,000 pages, by
default: for the loop-thread connections (:mod:`.sqlite_in_loop`) that meant one commit
in about a hundred copying the log into the database and waiting on two ``fsync`` with
the whole reactor stopped (4-6 ms, measured on this machine: p99 of a commit). The loop
connections turn that off (``wal_autocheckpoint=0``) and report their commits here,
with the rows each changed; after :data:`COMMITS_PER_CHECKPOINT` commits or
:data:`ROWS_PER_CHECKPOINT` rows, whichever comes first, a ``PASSIVE`` checkpoint runs on
a connection of this module's thread. (Counting commits alone would leave the log of
a few large transactions uncopied for as long as no small ones follow.) ``PASSIVE``
takes no lock a writer or a reader waits for: the loop goes on committing meanwhile,
and frames a reader still needs are copied next time.

A ``PASSIVE`` checkpoint alone does not bound the log. SQLite starts the log over only
when a write begins after a checkpoint copied every frame; under steady writes (a
catch-up, a flood) a commit lands while the thread copies, so the log only ever grew.
On the 16 MB disk of ``test_full_disk.py`` it filled the space freed for the catch-up
within seconds, and every message of that catch-up was refused. So when the last
checkpoint found :data:`RESTART_LOG_FRAMES` frames or more, the next one is
``RESTART``: it waits for the writer of the moment to commit, holds new writers off
while it copies (a few ms; the loop's writes wait for the lock without stopping the
reactor, :func:`~.sqlite_in_loop.begin_immediate`) and makes the next write start the
log over. It waits at most :data:`RESTART_WAIT` for readers; past that it is a
``PASSIVE`` one, and the next is a ``RESTART`` again.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

#: commits of the loop connections between two checkpoints: a message takes about ten
#: pages, so about SQLite's own 1,000-page threshold
COMMITS_PER_CHECKPOINT = 100
#: or rows changed (triggers' included) since the last checkpoint: a row takes at most a
#: page or so (a cached item with its search terms: tens of rows in a few pages)
ROWS_PER_CHECKPOINT = 1000
#: page cache of the checkpointing connection, in KiB: it copies pages, it keeps none
PAGE_CACHE_KIB = 64
#: frames in the log (4 KiB each) from which the next checkpoint starts the log over:
#: SQLite's own automatic threshold
RESTART_LOG_FRAMES = 1000
#: seconds a ``RESTART`` checkpoint waits for the writer and the readers, holding new
#: writers off meanwhile
RESTART_WAIT = 0.05


class WalCheckpoints:
    """Counts the commits of the loop connections of one database file and checkpoints
    its WAL in a worker thread, one checkpoint at a time."""

    def __init__(self, database: str, commits_per_checkpoint: int = COMMITS_PER_CHECKPOINT,
                 rows_per_checkpoint: int = ROWS_PER_CHECKPOINT) -> None:
        self._database = database
        self._every = commits_per_checkpoint
        self._rows_every = rows_per_checkpoint
        self._commits = 0
        self._rows = 0
        #: the checkpoint under way, if any
        self._running: asyncio.Future[tuple[int, int, int]] | None = None
        #: one thread, so that the connection below is only ever used by the thread that opened it
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._connection: sqlite3.Connection | None = None
        self._closed = False
        #: checkpoints done: (busy, frames in the log, frames copied) of the last one
        self.done = 0
        self.last: tuple[int, int, int] | None = None
        #: the next checkpoint starts the log over (see the module)
        self.restart_due = False
        #: ``RESTART`` checkpoints done
        self.restarts = 0

    def committed(self, rows: int) -> None:
        """A loop connection committed, having changed ``rows``: start a checkpoint when
        enough was written since the last."""
        self._commits += 1
        self._rows += rows
        if (self._commits < self._every and self._rows < self._rows_every) or self._running is not None or self._closed:
            return
        self._commits = self._rows = 0
        mode = "RESTART" if self.restart_due else "PASSIVE"
        self._running = asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint, mode)
        self._running.add_done_callback(lambda future: self._finished(future, mode))

    async def idle(self) -> None:
        """Return once the checkpoint under way, if any, has ended (and been counted)."""
        if self._running is not None:
            await asyncio.wait([self._running])

    async def close(self) -> None:
        """Wait for the checkpoint under way, then close the thread's connection."""
        if self._closed:
            return
        self._closed = True
        await self.idle()
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close_connection)
        self._thread.shutdown(wait=True)

    def _checkpoint(self, mode: str) -> tuple[int, int, int]:
        """In the worker thread."""
        if self._connection is None:
            # the busy timeout bounds how long a RESTART holds new writers off
            self._connection = sqlite3.connect(self._database, isolation_level=None, timeout=RESTART_WAIT)
            self._connection.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            # as the other connections: the log is synced before it is copied, the
            # database after (NORMAL in WAL mode), only here, off the loop
            self._connection.execute("PRAGMA synchronous=NORMAL")
        # every row fetched: the statement is done, so it holds no read of the log
        ((busy, log_frames, copied),) = self._connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        return busy, log_frames, copied

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _finished(self, future: asyncio.Future[tuple[int, int, int]], mode: str) -> None:
        self._running = None
        if future.cancelled():
            return
        if (error := future.exception()) is not None:
            # the next one copies what this one could not; the log only grows meanwhile
            log.warning("checkpoint of the database's write-ahead log failed: %s", error)
            return
        self.done += 1
        self.last = busy, log_frames, _ = future.result()
        if mode == "RESTART":
            self.restarts += busy == 0
            self.restart_due = busy != 0  # readers kept it from starting the log over
        else:
            self.restart_due = log_frames >= RESTART_LOG_FRAMES
