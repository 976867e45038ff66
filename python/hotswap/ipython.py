"""IPython / Jupyter extension: ``%load_ext hotswap``.

Modules imported from the current directory (and from directories added to ``sys.path``
afterwards) become live. Saved edits are noticed by hotswap's file watcher (no polling of
files) and held until the next cell is about to run, then applied all at once, so a running
cell never sees half an edit. ``%hotswap`` shows what is watched and what the last edit did.

The extension owns hotswap's output while it is loaded: the warnings and errors of a batch
are collected while the batch runs and printed once, with the batch's summary, by the cell
that applied it; a message the watcher thread logs between cells (a watched directory
removed, the OS watch limit reached) is written to ``sys.stderr`` when it happens, which in
a Jupyter kernel is a stream message of the last cell.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from typing import Deque, List, Optional, Tuple

import hotswap

from . import _log

_EXTENSION: Optional["LiveCells"] = None

# How many names of each kind a summary lists, as ``Report.summary`` does.
_SUMMARY_NAMES = 3
# How many messages of the watcher thread %hotswap can show again.
_BETWEEN_CELLS_KEPT = 5


def changes_summary(report) -> str:
    """``updated m.f, m.g; added m.h``: what a batch changed, without its problems (those are
    printed in full, one per line, from the batch's own log records)."""
    parts = []
    for label, names in (
        ("updated", report.updated),
        ("added", report.added),
        ("deleted", report.deleted),
        ("re-created", report.recreated),
    ):
        if names:
            listed = ", ".join(names[:_SUMMARY_NAMES])
            more = len(names) - _SUMMARY_NAMES
            parts.append(f"{label} {listed}" + (f" and {more} more" if more > 0 else ""))
    return "; ".join(parts)


class BatchMessages(logging.Handler):
    """hotswap's warnings and errors, each written once: collected while a cell applies a batch
    (the cell prints them with its summary), written to ``sys.stderr`` at once otherwise."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._collecting_thread: Optional[int] = None
        self._collected: List[str] = []
        # (time, message) of the latest messages written between cells, for %hotswap: a front
        # end may show nothing for a cell that has finished.
        self.between_cells: Deque[Tuple[float, str]] = deque(maxlen=_BETWEEN_CELLS_KEPT)

    def start_batch(self) -> None:
        self._collected = []
        self._collecting_thread = threading.get_ident()

    def end_batch(self) -> List[str]:
        self._collecting_thread = None
        collected, self._collected = self._collected, []
        return collected

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # a record that cannot be formatted must not break the cell
            self.handleError(record)
            return
        if threading.get_ident() == self._collecting_thread:
            self._collected.append(text)
        else:  # the watcher thread, between cells
            self.between_cells.append((time.time(), text))
            write_once(sys.stderr, [f"hotswap: {text}"])


def write_once(stream, lines: List[str]) -> None:
    """``lines`` in one write, so that a Jupyter kernel sends them as one stream message."""
    stream.write("".join(line + "\n" for line in lines))
    stream.flush()


class LiveCells:
    """The extension while loaded: its watchers, what each cell applied, the output it owns."""

    def __init__(self, shell) -> None:
        self.shell = shell
        self.watchers: List[hotswap.Watcher] = []
        self.roots: List[str] = []
        # (time, changes summary, problem messages) of every batch that did something
        self.history: List[Tuple[float, str, List[str]]] = []
        self.quiet = False
        self._seen_path = list(sys.path)
        self._logger = _log.logger()
        self._messages = BatchMessages()
        self._logger_propagated = self._logger.propagate
        self._logger.addHandler(self._messages)
        self._logger.propagate = False  # else logging's last resort prints each record again
        self.add_root(os.getcwd())

    def add_root(self, root: str) -> bool:
        """Watch ``root`` (and make what is imported from it live); False if already watched."""
        root = os.path.realpath(root)
        if any(root == r or root.startswith(r.rstrip(os.sep) + os.sep) for r in self.roots):
            return False
        hotswap.install(root)
        self.watchers.append(hotswap.watch(root, sync="manual"))
        self.roots.append(root)
        return True

    def _new_path_entries(self) -> List[str]:
        """Directories the user put on ``sys.path`` (not installed packages) become live."""
        added: List[str] = []
        if sys.path == self._seen_path:
            return added
        for entry in sys.path:
            if entry in self._seen_path or not entry or not os.path.isdir(entry):
                continue
            if "site-packages" in entry or "dist-packages" in entry:
                continue
            if self.add_root(entry):
                added.append(self.roots[-1])
        self._seen_path = list(sys.path)
        return added

    def watch_new_path_entries(self, *args) -> None:
        """After each cell (which may have extended ``sys.path`` and imported from there, so an
        edit saved before the next cell is seen) and before each cell."""
        for root in self._new_path_entries():
            if not self.quiet:
                print(f"hotswap: also watching {root}")

    def pre_run_cell(self, *args) -> None:
        self.watch_new_path_entries()
        self._messages.start_batch()
        try:
            report = hotswap.poll()
        finally:
            problems = self._messages.end_batch()
        changes = changes_summary(report)
        if not (changes or problems):
            return
        self.history.append((time.time(), changes, problems))
        if problems:
            lines = [f"hotswap: {changes}"] if changes else []
            write_once(sys.stderr, lines + [f"hotswap: {problem}" for problem in problems])
        elif not self.quiet:
            write_once(sys.stdout, [f"hotswap: {changes}"])

    def stop(self) -> None:
        for watcher in self.watchers:
            watcher.stop()
        self.watchers.clear()
        self._logger.removeHandler(self._messages)
        self._logger.propagate = self._logger_propagated

    def magic(self, line: str = "") -> None:
        """%hotswap: what is watched, the watcher's latest messages and what the last edit did;
        ``%hotswap history`` lists every edit; ``%hotswap quiet`` / ``%hotswap verbose`` hide /
        show the line of a successful edit."""
        word = line.strip()
        if word in ("quiet", "verbose"):
            self.quiet = word == "quiet"
            return
        if word not in ("", "history"):
            print("usage: %hotswap [history|quiet|verbose]", file=sys.stderr)
            return
        print(f"hotswap: watching {', '.join(self.roots)}")
        for when, text in self._messages.between_cells:
            print(f"{_clock(when)}  {text}")
        if not self.history:
            print("no edits applied yet")
            return
        if word == "":
            print("last edit:")
        for when, changes, problems in self.history[-1:] if word == "" else self.history:
            print(f"{_clock(when)}  {changes or 'nothing applied'}")
            for problem in problems:
                print(f"          {problem}")


def _clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


def load_ipython_extension(shell) -> None:
    global _EXTENSION
    if _EXTENSION is not None:
        return
    _EXTENSION = LiveCells(shell)
    shell.events.register("pre_run_cell", _EXTENSION.pre_run_cell)
    shell.events.register("post_run_cell", _EXTENSION.watch_new_path_entries)
    shell.register_magic_function(_EXTENSION.magic, "line", "hotswap")
    print(
        f"hotswap: watching {', '.join(_EXTENSION.roots)}: modules imported from there are live;"
        " saved edits apply when the next cell runs (%hotswap shows the last one)"
    )


def unload_ipython_extension(shell) -> None:
    global _EXTENSION
    if _EXTENSION is None:
        return
    shell.events.unregister("pre_run_cell", _EXTENSION.pre_run_cell)
    shell.events.unregister("post_run_cell", _EXTENSION.watch_new_path_entries)
    _EXTENSION.stop()
    _EXTENSION = None
