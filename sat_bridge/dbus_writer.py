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


#: messages queued in one turn of the loop leave in one ``send`` up to this many bytes
#: (a bigger message goes on its own: joining would copy it)
JOIN_LIMIT = 64 * 1024


def flush(bus: Any) -> None:
    """Write what the bus has queued now, as far as the socket takes it: call it before
    ``disconnect()``, which shuts the socket at once (a signal emitted in the same turn,
    e.g. ``Disconnected`` while stopping, would otherwise never leave)."""
    writer = getattr(bus, "_writer", None)
    if _state["installed"] and writer is not None and (writer.buf is not None or writer.messages):
        writer.write_callback(remove_writer=_armed(writer))


def _write_callback(self: Any, remove_writer: bool = True) -> None:
    """dbus-fast's ``write_callback``, where a full socket means "wait for writable", and
    where the small messages queued meanwhile leave together in one ``send``."""
    from dbus_fast.aio.message_bus import _future_set_exception, _future_set_result

    sock = self.sock
    try:
        while True:
            if self.buf is None:
                if not self.messages:
                    if remove_writer:
                        self.loop.remove_writer(self.fd)
                        self.writer_armed = False
                    return
                buf, unix_fds, fut = self.messages.popleft()
                futures = [fut]
                if not unix_fds:
                    buf = _join_small(self.messages, buf, futures)
                self.unix_fds = unix_fds
                self.buf = memoryview(buf)
                self.offset = 0
                self.fut = futures
            try:
                if self.unix_fds and self.negotiate_unix_fd:
                    ancdata = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", self.unix_fds))]
                    sent = sock.sendmsg([self.buf[self.offset :]], ancdata)
                    self.unix_fds = None  # the descriptors went with the first bytes
                else:
                    sent = sock.send(self.buf[self.offset :])
            except (BlockingIOError, InterruptedError):
                # the socket buffer is full: the rest goes when it is writable again
                _arm(self)
                return
            self.offset += sent
            if self.offset < len(self.buf):
                _arm(self)
                return
            self.buf = None
            for future in self.fut:
                _future_set_result(future, None)
    except Exception as exc:  # noqa: BLE001 - as upstream: a real socket error ends the bus
        for future in self.fut or ():
            if self.bus._user_disconnect:
                _future_set_result(future, None)
            else:
                _future_set_exception(future, exc)
        self.bus._finalize(exc)


def _join_small(queue: Any, first: bytearray, futures: list[Any]) -> bytearray:
    """``first`` followed by the messages at the head of ``queue`` that carry no file
    descriptor, while the whole stays under :data:`JOIN_LIMIT`; their futures are added
    to ``futures``."""
    if not queue or len(first) >= JOIN_LIMIT:
        return first
    joined = bytearray(first)
    while queue and not queue[0][1] and len(joined) + len(queue[0][0]) <= JOIN_LIMIT:
        buf, _, fut = queue.popleft()
        joined += buf
        futures.append(fut)
    return joined


def _armed(writer: Any) -> bool:
    return bool(getattr(writer, "writer_armed", False))


def _arm(writer: Any) -> None:
    """Have the loop call the writer once the socket is writable again."""
    if not _armed(writer):
        writer.loop.add_writer(writer.fd, writer.write_callback)
        writer.writer_armed = True


#: turns of the loop a write waits: a call that waited emits its signals in its task's
#: last step, and its reply leaves from the task's done callback, a turn later
#: (:mod:`sat_bridge.method_calls`; one that does not wait sends both in the same turn)
FLUSH_AFTER_TURNS = 2


def send_at_once(bus: Any) -> None:
    """Have ``bus`` write each message as soon as it is queued (a frontend's bus).

    Waiting for the loop's turns pays on the backend, which emits several messages per
    call; a frontend sends one call and waits for its answer, so the turns were only
    latency: two more loop iterations per call, ≈ 0.1 ms of a ``GetVersion`` round trip
    (issue 14)."""
    bus._writer.flush_after_turns = 0


def _schedule_write(self: Any, msg: Any = None, future: Any = None) -> None:
    """dbus-fast's ``schedule_write``, writing after the loop's next turns instead of at
    once (unless :func:`send_at_once`): a method's signals and its reply, and whatever
    else is emitted meanwhile, leave in one ``send`` (one wake-up of the bus daemon
    instead of one per message). Waiting for a turn is a ``call_soon``, cheaper than
    watching the socket for writability (two ``epoll_ctl`` calls), which is kept for a
    full socket."""
    if msg is not None:
        self.buffer_message(msg, future)
    if (self.bus.unique_name and (self.buf is not None or self.messages)
            and not _armed(self) and not getattr(self, "flush_pending", False)):
        turns = getattr(self, "flush_after_turns", FLUSH_AFTER_TURNS)
        if turns == 0:
            self.write_callback(remove_writer=False)
            return
        self.flush_pending = True
        self.loop.call_soon(_flush_later, self, turns - 1)


def _flush_later(writer: Any, turns: int) -> None:
    if turns > 0:
        writer.loop.call_soon(_flush_later, writer, turns - 1)
        return
    writer.flush_pending = False
    if not _armed(writer) and not writer.bus._disconnected:
        writer.write_callback(remove_writer=False)
