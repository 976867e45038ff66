"""IPython / Jupyter extension: ``%load_ext hotswap``.

Modules imported from the current directory (and from directories added to ``sys.path``
afterwards) become live. Saved edits are noticed by hotswap's file watcher (no polling of
files) and held until the next cell is about to run, then applied all at once, so a running
cell never sees half an edit. ``%hotswap`` shows what was updated.
"""

from __future__ import annotations

import os
import sys
import time
from typing import List, Optional

import hotswap

_EXTENSION: Optional["LiveCells"] = None


class LiveCells:
    def __init__(self, shell) -> None:
        self.shell = shell
        self.watchers: List[hotswap.Watcher] = []
        self.roots: List[str] = []
        self.history: list = []  # (time, report) of every batch that did something
        self.quiet = False
        self._seen_path = list(sys.path)
        self.add_root(os.getcwd())

    def add_root(self, root: str) -> None:
        root = os.path.realpath(root)
        if any(root == r or root.startswith(r.rstrip(os.sep) + os.sep) for r in self.roots):
            return
        hotswap.install(root)
        self.watchers.append(hotswap.watch(root, sync="manual"))
        self.roots.append(root)

    def _new_path_entries(self) -> None:
        """Directories the user put on ``sys.path`` (not installed packages) become live."""
        if sys.path == self._seen_path:
            return
        for entry in sys.path:
            if entry in self._seen_path or not entry or not os.path.isdir(entry):
                continue
            if "site-packages" in entry or "dist-packages" in entry:
                continue
            self.add_root(entry)
        self._seen_path = list(sys.path)

    def pre_run_cell(self, *args) -> None:
        self._new_path_entries()
        report = hotswap.poll()
        if not (report or report.errors):
            return
        self.history.append((time.time(), report))
        if report.errors:
            print(f"hotswap: {report.summary()}", file=sys.stderr)
        elif not self.quiet:
            print(f"hotswap: {report.summary()}")

    def stop(self) -> None:
        for watcher in self.watchers:
            watcher.stop()
        self.watchers.clear()

    def magic(self, line: str = "") -> None:
        """%hotswap: what was updated; ``%hotswap quiet`` / ``%hotswap verbose``."""
        word = line.strip()
        if word in ("quiet", "verbose"):
            self.quiet = word == "quiet"
            return
        if word:
            print("usage: %hotswap [quiet|verbose]", file=sys.stderr)
            return
        print(f"hotswap: live modules from {', '.join(self.roots)}")
        if not self.history:
            print("no edits applied yet")
        for when, report in self.history:
            stamp = time.strftime("%H:%M:%S", time.localtime(when))
            print(f"{stamp}  {report.summary()}")
            for error in report.errors[1:]:  # the summary names the first
                print(f"          not applied: {error}")


def load_ipython_extension(shell) -> None:
    global _EXTENSION
    if _EXTENSION is not None:
        return
    _EXTENSION = LiveCells(shell)
    shell.events.register("pre_run_cell", _EXTENSION.pre_run_cell)
    shell.register_magic_function(_EXTENSION.magic, "line", "hotswap")


def unload_ipython_extension(shell) -> None:
    global _EXTENSION
    if _EXTENSION is None:
        return
    shell.events.unregister("pre_run_cell", _EXTENSION.pre_run_cell)
    _EXTENSION.stop()
    _EXTENSION = None
