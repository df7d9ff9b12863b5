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

    def committed(self, rows: int) -> None:
        """A loop connection committed, having changed ``rows``: start a checkpoint when
        enough was written since the last."""
        self._commits += 1
        self._rows += rows
        if (self._commits < self._every and self._rows < self._rows_every) or self._running is not None or self._closed:
            return
        self._commits = self._rows = 0
        self._running = asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)
        self._running.add_done_callback(self._finished)

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

    def _checkpoint(self) -> tuple[int, int, int]:
        """In the worker thread."""
        if self._connection is None:
            self._connection = sqlite3.connect(self._database, isolation_level=None)
            self._connection.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
            # as the other connections: the log is synced before it is copied, the
            # database after (NORMAL in WAL mode), only here, off the loop
            self._connection.execute("PRAGMA synchronous=NORMAL")
        # every row fetched: the statement is done, so it holds no read of the log
        ((busy, log_frames, copied),) = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return busy, log_frames, copied

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _finished(self, future: asyncio.Future[tuple[int, int, int]]) -> None:
        self._running = None
        if future.cancelled():
            return
        if (error := future.exception()) is not None:
            # the next one copies what this one could not; the log only grows meanwhile
            log.warning("checkpoint of the database's write-ahead log failed: %s", error)
            return
        self.done += 1
        self.last = future.result()
