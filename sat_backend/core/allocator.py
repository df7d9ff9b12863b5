"""The C allocator's thresholds for the daemon's large, short-lived buffers.

A 1,000-item ``PsItemsGet`` answer makes several buffers of a few hundred KiB (the
database's JSON text, the reply string, its D-Bus message). glibc gives each block over
its mmap threshold (128 KiB at first) fresh pages from the kernel and returns them when
freed, and trims the heap top past 128 KiB free: every answer then paid page faults and
zeroed pages, and ``mmap``/``munmap``/``brk`` calls (≈ 0.6 ms of a 2.6 ms answer's CPU,
issue 14). Raising both thresholds keeps such blocks in the heap, reused from one answer
to the next; what may stay allocated unused is bounded by :data:`TRIM_THRESHOLD`.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

#: ``mallopt`` parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: blocks up to this size come from the heap (bigger ones still get their own mapping)
MMAP_THRESHOLD = 1024 * 1024
#: free memory at the top of the heap kept for reuse rather than given back
TRIM_THRESHOLD = 4 * 1024 * 1024


def keep_large_buffers() -> bool:
    """Raise glibc's mmap and trim thresholds (see the module); True when applied, False
    on a C library without ``mallopt`` (musl, macOS: left as they are)."""
    try:  # the process's own symbols: the C library it runs on, without find_library's ldconfig run
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        log.debug("no mallopt in the C library: allocator thresholds left as they are")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
