"""``hotswap --test PYTEST_ARGS [--revert-on-fail] script.py``: tests on every applied edit.

After each batch that changed the running program, the tests that import a changed module (or
that are themselves in a changed file) run in the program's own process with ``pytest.main``,
so they exercise the live modules. With ``--revert-on-fail`` an edit whose tests fail is taken
back in the running program (the engine applies the text it ran before); the file keeps what
the user wrote, and the next save is applied and tested again.

Under ``--test`` edits are applied on the main thread by default (``--sync main``), so the
program is paused while the tests run and never runs an edit that is about to be reverted.
"""

from __future__ import annotations

import _thread
import logging
import os
import sys
import threading
import time
from typing import Dict, List, Set, Tuple

from . import _core, _log


def _test_files(args: List[str]) -> List[str]:
    """Test files named by the pytest arguments (files, or test_*.py / *_test.py in dirs)."""
    found = []
    paths = [a.split("::")[0] for a in args if not a.startswith("-")]
    for path in [p for p in paths if os.path.exists(p)] or ["."]:
        if os.path.isfile(path):
            found.append(os.path.realpath(path))
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            for name in files:
                if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                    found.append(os.path.realpath(os.path.join(folder, name)))
    return sorted(set(found))


def _module_name(path: str) -> Tuple[str, bool]:
    """The name pytest imports a test file under (its default ``prepend`` mode: the dotted path
    through the packages above it), and whether the file is a package's ``__init__``."""
    folder, name = os.path.split(os.path.splitext(path)[0])
    parts = [] if name == "__init__" else [name]
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        folder, package = os.path.split(folder)
        parts.insert(0, package)
    return ".".join(parts), name == "__init__"


def _imports(path: str) -> Set[str]:
    """The modules the test file at ``path`` may import, relative imports resolved (the
    statements come from the engine's parser)."""
    importer, is_package = _module_name(path)
    return {name for found in _core.imports(path) for name in found.modules(importer, is_package)}


_ALREADY_IMPORTED = "Module already imported so cannot be rewritten; hotswap"


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


class _RecordTestModules:
    """Records the test modules pytest just imported (through its assertion rewriter, not
    hotswap's import hook), so saving a test file later is applied like any other edit, compiled
    as pytest compiled it."""

    def __init__(self, roots: List[str]) -> None:
        self.roots = roots

    def pytest_collection_finish(self, session) -> None:
        from .pytest_plugin import compile_rewritten_modules_like_pytest

        _core.record_loaded(self.roots)
        # Edited test modules keep pytest's assertion messages.
        compile_rewritten_modules_like_pytest(None, self.roots)

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.interrupted = True


def _interrupt_program() -> None:
    """Hand a Ctrl-C that hit the test run to the program: raised inside hotswap's callback it
    would be reported and dropped, so it is raised again once the callback has returned."""

    def later() -> None:
        time.sleep(0.05)
        _thread.interrupt_main()

    threading.Thread(target=later, name="hotswap-interrupt", daemon=True).start()


class TestOnReload:
    """The ``on_reload`` callback of ``hotswap --test``."""

    def __init__(self, pytest_args: List[str], revert_on_fail: bool, roots: List[str]) -> None:
        self.args = pytest_args
        self.revert_on_fail = revert_on_fail
        self.roots = roots

    def _changed_modules(self, report) -> Dict[str, str]:
        """Module name → its file, for the modules the report touched that have a file."""
        modules = {}
        for name in report.modules:
            path = getattr(sys.modules.get(name), "__file__", None)
            if path:
                modules[name] = os.path.realpath(path)
        return modules

    def _options(self) -> List[str]:
        # hotswap's own plugin is imported already (pytest would warn it cannot rewrite it).
        options = ["-q", "-p", "no:cacheprovider", "-p", "no:hotswap"]
        options += ["-W", f"ignore:{_ALREADY_IMPORTED}:pytest.PytestAssertRewriteWarning"]
        if not any(a == "-s" or a.startswith("--capture") for a in self.args):
            options.append("-s")  # the program's own output is not the tests' to capture
        return options

    def __call__(self, report) -> None:
        try:
            self._test(report)
        except KeyboardInterrupt:
            _interrupt_program()

    def _test(self, report) -> None:
        if report.errors or not report:
            return
        changed = self._changed_modules(report)
        if not changed:
            return
        files = set(changed.values())
        options = [a for a in self.args if not os.path.exists(a.split("::")[0])]
        tests = [
            path
            for path in _test_files(self.args)
            if path in files
            or any(_related(name, module) for name in _imports(path) for module in changed)
        ]
        what = ", ".join(sorted(changed))
        if not tests:
            print(f"hotswap: no tests import {what}", file=sys.stderr, flush=True)
            return
        shown = ", ".join(map(_core.display_path, tests))
        print(f"hotswap: {what} changed; running {shown}", file=sys.stderr, flush=True)
        status = self._run(self._options() + options + tests)
        if status in (0, 5):  # passed, or no tests collected
            print(f"hotswap: tests passed for {what}", file=sys.stderr, flush=True)
            return
        if not self.revert_on_fail:
            print(f"hotswap: tests FAILED for {what}", file=sys.stderr, flush=True)
            return
        reverted = []
        for name, path in sorted(changed.items()):
            previous = _core.previous_source(path)
            if previous is None or path in tests:
                continue
            logger = _log.logger()
            level = logger.level
            logger.setLevel(logging.WARNING)  # not "updated ...": it is said below
            try:
                undo = _core.reload_source(path, previous)
            finally:
                logger.setLevel(level)
            if not undo.errors:
                reverted.append(name)
        if reverted:
            print(
                f"hotswap: tests FAILED: the edit of {', '.join(reverted)} is reverted in the "
                "running program (your file is unchanged; save again to retry)",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(f"hotswap: tests FAILED for {what}", file=sys.stderr, flush=True)

    def _run(self, argv: List[str]) -> int:
        try:
            import pytest
        except ImportError:
            print("hotswap: --test needs pytest (pip install pytest)", file=sys.stderr)
            return 0
        saved_argv = sys.argv[:]
        try:
            recorder = _RecordTestModules(self.roots)
            status = int(pytest.main(argv, plugins=[recorder]))
            if getattr(recorder, "interrupted", False):
                raise KeyboardInterrupt
            return status
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a crash of the test run must not end the program
            print(f"hotswap: the test run failed: {exc!r}", file=sys.stderr, flush=True)
            return 3
        finally:
            sys.argv[:] = saved_argv
