"""The event stream: one JSON object per line for every batch and for the life of the watcher.

Events are plain dicts (schema 1, documented in the README). ``watch(on_event=...)`` hands them
to a callable in the program; ``hotswap --events PATH|-`` writes them as JSON lines through an
:class:`EventStream`, whose own thread does the writing: the program only puts an event on a
bounded queue, so a slow reader, or a FIFO nobody reads, never blocks or slows it. Events that
cannot be queued or written are dropped and counted, and the count rides on the next line
that is written (``dropped``).
"""

from __future__ import annotations

import errno
import os
import queue
import stat
import sys
import threading
import time

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

SCHEMA = 1
QUEUE_LIMIT = 64


def event(kind: str, **fields: Any) -> Dict[str, Any]:
    """An event of ``kind``: schema, event, pid and time first, then ``fields``."""
    out: Dict[str, Any] = {"schema": SCHEMA, "event": kind, "pid": os.getpid(), "time": time.time()}
    out.update(fields)
    return out


def started() -> Dict[str, Any]:
    from . import __version__

    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return event(
        "started",
        ppid=os.getppid(),
        argv=list(argv),
        cwd=os.getcwd(),
        python=sys.version.split()[0],
        hotswap=__version__,
    )


def _problems(entries: List[Any]) -> List[Dict[str, Any]]:
    return [
        {"path": e.path, "line": e.line, "column": e.column, "message": e.message} for e in entries
    ]


def batch(report: Any) -> Dict[str, Any]:
    """The event of one applied batch, from its report (nothing is derived here)."""
    return event(
        "batch",
        generation=report.generation,
        files=list(report.paths),
        updated=list(report.updated),
        added=list(report.added),
        deleted=list(report.deleted),
        moved=list(report.moved),
        recreated=list(report.recreated),
        errors=_problems(report.errors),
        rude=_problems(report.rude),
        notes=list(report.notes),
        duration_ms=round(report.duration_ms, 3),
    )


class Announcer:
    """Sends one watcher's events to ``on_event``: started and watching now (and again in a
    forked child, which watches too), a batch event per report, stopped once."""

    def __init__(self, on_event: Callable[[Dict[str, Any]], object]) -> None:
        self.on_event = on_event
        self.roots: List[str] = []
        self.stopped = True  # until begin()

    def begin(self, roots: List[str]) -> None:
        """The watcher of ``roots`` started: say so, now and in forked children."""
        self.roots = list(roots)
        self.stopped = False
        self._hello()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)
        import atexit

        atexit.register(self.stop)

    def _send(self, item: Dict[str, Any]) -> None:
        try:
            self.on_event(item)
        except Exception:  # the program goes on; say what the callback did once per event
            from . import _log

            _log.error("the on_event callback raised an exception:", exc_info=True)

    def _hello(self) -> None:
        self._send(started())
        self._send(event("watching", roots=self.roots))

    def _after_fork(self) -> None:
        if not self.stopped:
            self._hello()

    def batch(self, report: Any) -> None:
        self._send(batch(report))

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._send(event("stopped"))


class _Sink:
    """Where lines go: a regular file (appended), a FIFO (opened without blocking, again after
    its reader left), or standard output (``-``: a copy of file descriptor 1, written to
    directly, so a line never lands between two ``write`` calls of a ``print``)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.fd: Optional[int] = None
        self.fifo = False
        self.error = 0
        if target == "-":
            self.fd = os.dup(1)
            return
        try:
            self.fifo = stat.S_ISFIFO(os.stat(target).st_mode)
        except FileNotFoundError:
            pass
        self.open()
        if self.fd is None and not self.fifo:
            raise OSError(self.error, os.strerror(self.error), target)

    def open(self) -> None:
        """Opens the target if it is not open; a FIFO without a reader stays closed (ENXIO)."""
        if self.fd is not None or self.target == "-":
            return
        flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
        flags |= os.O_NONBLOCK if self.fifo else os.O_APPEND | os.O_CREAT
        try:
            fd = os.open(self.target, flags, 0o666)
        except OSError as exc:
            self.error = exc.errno or errno.EIO
            return
        if self.fifo:  # from now on only the writer thread waits for the reader
            os.set_blocking(fd, True)
        self.fd = fd

    def write(self, line: str) -> bool:
        """Writes ``line`` whole, in one ``write`` when it can; False if it could not be
        written (no reader yet, the reader left, the disk is full, ...)."""
        self.open()
        if self.fd is None:
            return False
        data = line.encode()
        try:
            while data:
                data = data[os.write(self.fd, data) :]
            return True
        except OSError:
            if self.target != "-":  # a FIFO is opened again for the next reader
                os.close(self.fd)
                self.fd = None
            return False


_CLOSE = object()


class EventStream:
    """JSON lines written by a thread of its own: :meth:`emit` never waits."""

    def __init__(self, target: str, limit: int = QUEUE_LIMIT) -> None:
        self.sink = _Sink(target)
        self.limit = limit
        self._start()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._start)
        import atexit

        atexit.register(self.close)

    def _start(self) -> None:
        """A new queue and writer (also in a forked child: the parent's thread is not there)."""
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(self.limit)
        self._dropped = 0  # not queued (queue full)
        self._lost = 0  # taken from the queue, not written; only the writer thread uses it
        self._closed = False
        self._writer = threading.Thread(target=self._write_all, name="hotswap-events", daemon=True)
        self._writer.start()

    def emit(self, item: Dict[str, Any]) -> None:
        """Queue ``item`` for writing, or count it as dropped when the queue is full."""
        with self._lock:
            if self._closed:
                return
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self._dropped += 1

    def _write_all(self) -> None:
        import json

        while True:
            item = self._queue.get()
            if item is _CLOSE:
                return
            with self._lock:
                lost, self._dropped = self._lost + self._dropped, 0
            if lost:
                item = dict(item, dropped=lost)
            line = json.dumps(item, separators=(",", ":"), default=str) + "\n"
            self._lost = 0 if self.sink.write(line) else lost + 1

    def close(self, timeout: float = 1.0) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds), then stop the writer."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._queue.put(_CLOSE, timeout=timeout)
        except queue.Full:
            return
        self._writer.join(timeout)
