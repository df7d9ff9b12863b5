"""Work around dbus-fast's asyncio writer, which drops the bus connection on a full socket.

dbus-fast (up to 5.2.0, the latest release when this was written; the same code as
python-dbus-next issue #153, fix proposed in its PR #154 and never released) writes
messages on a non-blocking socket in ``_MessageWriter.write_callback``. Two faults make
it close the connection when the socket buffer fills up, e.g. under a few multi-megabyte
replies plus small ones sent at once:

- ``schedule_write`` calls the writer at once when its queue is empty, even though a
  partly written message is still waiting for the socket to become writable; the
  ``send`` then fails with ``BlockingIOError`` (EAGAIN);
- ``write_callback`` treats any exception from ``send``, EAGAIN included, as the end of
  the connection and finalizes the bus: the process keeps running, nameless.

:func:`install` replaces both methods with versions where EAGAIN/EINTR from ``send``
means "wait until writable" (as asyncio's own transports do), and where a partly written
message counts as pending output. It refuses, and logs once why, on a dbus-fast whose
writer is not the one these replacements were written against (recognised by the source
of both methods), so that an upgrade never silently runs patched code it was not
checked against.
"""

from __future__ import annotations

import array
import hashlib
import inspect
import logging
import socket
from importlib import metadata
from typing import Any

log = logging.getLogger(__name__)

#: sha256 of ``inspect.getsource`` of (write_callback, schedule_write) in the dbus-fast
#: releases whose writer was read and is replaced here (5.2.0)
KNOWN_WRITERS = frozenset(
    {
        (
            "61507d2ba407864438f6d8199566de8a6fef834b539a707ee500d9b7c3e73ceb",
            "22a48c920abc053f61180e79185a8520fb5e50567fcbb9ba2b1d906196f56adb",
        ),
    }
)

_state: dict[str, bool] = {"installed": False, "refused": False}


def writer_fingerprint(writer_class: type) -> tuple[str, str] | None:
    """Digests of the source of the writer's two methods; None when it cannot be read
    (a compiled build): then it is not recognised."""
    try:
        sources = [inspect.getsource(getattr(writer_class, name)) for name in ("write_callback", "schedule_write")]
    except (AttributeError, OSError, TypeError):
        return None
    first, second = (hashlib.sha256(source.encode()).hexdigest() for source in sources)
    return first, second


def install() -> bool:
    """Patch dbus-fast's writer once per process; True when the fixed writer is in use.

    Both the backend's service and :mod:`sat_bridge.client` call this before connecting.
    """
    if _state["installed"]:
        return True
    if _state["refused"]:
        return False
    from dbus_fast.aio import message_bus

    writer_class = getattr(message_bus, "_MessageWriter", None)
    fingerprint = writer_fingerprint(writer_class) if writer_class is not None else None
    if fingerprint not in KNOWN_WRITERS or not _has_helpers(message_bus):
        _state["refused"] = True
        log.warning(
            "dbus-fast %s: its message writer is not the one sat_bridge knows how to fix; running it "
            "unpatched (a full socket may drop the bus connection: check that this release handles EAGAIN)",
            _dbus_fast_version(),
        )
        return False
    assert writer_class is not None
    writer_class.write_callback = _write_callback
    writer_class.schedule_write = _schedule_write
    _state["installed"] = True
    return True


def _has_helpers(module: Any) -> bool:
    return callable(getattr(module, "_future_set_result", None)) and callable(
        getattr(module, "_future_set_exception", None)
    )


def _dbus_fast_version() -> str:
    try:
        return metadata.version("dbus-fast")
    except metadata.PackageNotFoundError:
        return "(unknown version)"


def _write_callback(self: Any, remove_writer: bool = True) -> None:
    """dbus-fast's ``write_callback``, where a full socket means "wait for writable"."""
    from dbus_fast.aio.message_bus import _future_set_exception, _future_set_result

    sock = self.sock
    try:
        while True:
            if self.buf is None:
                if not self.messages:
                    if remove_writer:
                        self.loop.remove_writer(self.fd)
                    return
                buf, unix_fds, fut = self.messages.popleft()
                self.unix_fds = unix_fds
                self.buf = memoryview(buf)
                self.offset = 0
                self.fut = fut
            try:
                if self.unix_fds and self.negotiate_unix_fd:
                    ancdata = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", self.unix_fds))]
                    sent = sock.sendmsg([self.buf[self.offset :]], ancdata)
                    self.unix_fds = None  # the descriptors went with the first bytes
                else:
                    sent = sock.send(self.buf[self.offset :])
            except (BlockingIOError, InterruptedError):
                # the socket buffer is full: the rest goes when it is writable again
                self.loop.add_writer(self.fd, self.write_callback)
                return
            self.offset += sent
            if self.offset < len(self.buf):
                self.loop.add_writer(self.fd, self.write_callback)
                return
            self.buf = None
            _future_set_result(self.fut, None)
    except Exception as exc:  # noqa: BLE001 - as upstream: a real socket error ends the bus
        if self.bus._user_disconnect:
            _future_set_result(self.fut, None)
        else:
            _future_set_exception(self.fut, exc)
        self.bus._finalize(exc)


def _schedule_write(self: Any, msg: Any = None, future: Any = None) -> None:
    """dbus-fast's ``schedule_write``, where a partly written message counts as queued:
    writing at once is only tried when nothing at all is waiting for the socket."""
    idle = not self.messages and self.buf is None
    if msg is not None:
        self.buffer_message(msg, future)
    if self.bus.unique_name:
        if idle:
            self._write_without_remove_writer()
        if self.buf is not None or self.messages:
            self.loop.add_writer(self.fd, self.write_callback)
