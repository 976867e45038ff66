"""pytest plugin (registered through the ``pytest11`` entry point): ``--reload-loop``.

When a test fails, the session stays alive: the failure is shown, hotswap waits for the next
save under ``--reload-dir`` (default: the rootdir), applies it to the running session and runs
the test again; once it passes, the run goes on with the other tests. ``--reload-loop=pdb``
opens pdb at the failure instead; saves are applied while pdb waits, and ``c`` runs the test
again (``q`` gives up on it). Session-scoped fixtures are kept between attempts; narrower ones
are set up afresh, so an edited fixture takes effect.

Waiting happens between the phases of a test, where pytest's output capture is suspended, so
``-s`` is not needed.
"""

from __future__ import annotations

import os
import sys
import types
from typing import List, Optional

import pytest

MODES = ("wait", "pdb")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hotswap", "hotswap: live code reloading")
    group.addoption(
        "--reload-loop",
        dest="reload_loop",
        nargs="?",
        const="wait",
        default=None,
        metavar="MODE",
        help="when a test fails, wait for an edit, apply it live and run the test again "
        "(MODE wait, the default) or open pdb at the failure, where edits apply live and "
        "'c' runs the test again (MODE pdb)",
    )
    group.addoption(
        "--hotswap-daemon",
        dest="hotswap_daemon",
        action="store_true",
        default=False,
        help="run in the project's warm pytest daemon (started on first use): the saves made "
        "since the last run are applied live; anything that cannot be restarts the daemon",
    )
    group.addoption(
        "--hotswap-daemon-stop",
        dest="hotswap_daemon_stop",
        action="store_true",
        default=False,
        help="stop the project's pytest daemon and exit",
    )
    group.addoption(
        "--hotswap-daemon-idle",
        dest="hotswap_daemon_idle",
        type=float,
        default=60.0,
        metavar="MINUTES",
        help="a daemon started by this run ends after MINUTES without a run (default 60)",
    )
    group.addoption(
        "--hotswap-daemon-max-growth",
        dest="hotswap_daemon_max_growth",
        type=float,
        default=1000.0,
        metavar="MB",
        help="a daemon started by this run restarts once its memory grew by MB since its "
        "first run (default 1000)",
    )
    group.addoption(
        "--reload-dir",
        dest="reload_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="directory whose edits --reload-loop applies (repeatable; default: the rootdir)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args: List[str]) -> None:
    # A bare ``--reload-loop`` must not swallow the next argument (a test path) as its MODE.
    for i, arg in enumerate(args):
        if arg == "--reload-loop" and (i + 1 >= len(args) or args[i + 1] not in MODES):
            args[i] = "--reload-loop=wait"
    options = early_config.known_args_namespace
    if getattr(options, "hotswap_daemon", False) or getattr(options, "hotswap_daemon_stop", False):
        from ._daemon_plugin import run_in_daemon

        # Before the conftests are imported: that is the time the daemon saves.
        run_in_daemon(early_config, args)


def pytest_configure(config: pytest.Config) -> None:
    mode = config.getoption("reload_loop")
    if mode is None:
        return
    if mode not in MODES:
        raise pytest.UsageError(f"--reload-loop takes no value or 'pdb', not {mode!r}")
    dirs = [os.path.abspath(d) for d in config.getoption("reload_dirs")] or [str(config.rootpath)]
    missing = [d for d in dirs if not os.path.isdir(d)]
    if missing:
        raise pytest.UsageError(f"--reload-dir {missing[0]}: no such directory")
    config.pluginmanager.register(ReloadLoop(config, mode, dirs), "hotswap-reload-loop")


class ReloadLoop:
    def __init__(self, config: pytest.Config, mode: str, dirs: List[str]) -> None:
        import hotswap

        self.config = config
        self.mode = mode
        self.dirs = dirs
        self.watcher: Optional[hotswap.Watcher] = None
        self.rewritten: List[str] = []
        self.excinfo = None
        self.in_pdb = False
        # Modules imported from now on are recorded as they load (the code under test).
        hotswap.install(dirs)

    @property
    def terminal(self):
        return self.config.pluginmanager.get_plugin("terminalreporter")

    def _say(self, text: str, sep: Optional[str] = None, **markup: bool) -> None:
        tr = self.terminal
        if tr is None:
            print(text, flush=True)
        elif sep:
            tr.write_sep(sep, text, **markup)
        else:
            tr.write_line(text, **markup)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        import hotswap

        # After collection, so the test modules (loaded by pytest's assertion rewriter, not by
        # hotswap's import hook) are recorded too, from their files, and their edits compiled
        # as pytest compiled them.
        self.rewritten = compile_rewritten_modules_like_pytest(self.config, self.dirs)
        self.watcher = hotswap.watch(*self.dirs, on_reload=self._on_reload)
        self._say(f"hotswap: --reload-loop watching {', '.join(self.dirs)}")

    def pytest_unconfigure(self) -> None:
        from . import _core

        if self.watcher is not None:
            self.watcher.stop()
        for path in self.rewritten:
            _core.set_compile_hook(path, None)

    def _on_reload(self, report) -> None:
        if self.in_pdb:  # pdb is waiting for input: say what changed under its prompt
            print(f"\nhotswap: {report.summary()}\n(Pdb) ", end="", flush=True)

    def pytest_exception_interact(self, node, call, report) -> None:
        self.excinfo = call.excinfo

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> bool:
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        attempt = 1
        while True:
            self._drain()
            reports = self._run_once(item, nextitem)
            failed = [r for r in reports if r.failed]
            if not failed or item.session.shouldstop or not self._retry(item, failed, attempt):
                break
            attempt += 1
            self._say(f"hotswap: running {item.nodeid} again (attempt {attempt})", "=", bold=True)
            tr = self.terminal
            if tr is not None:  # the result goes on a fresh line, after the test's name
                tr.currentfspath = None
                tr.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for report in reports:
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def _run_once(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> list:
        """pytest's ``runtestprotocol`` without logging; after a failure, everything but the
        session's fixtures is torn down, ready for the next attempt."""
        from _pytest.runner import call_and_report, show_test_item

        self.excinfo = None
        has_request = hasattr(item, "_request")
        if has_request and not item._request:
            item._initrequest()
        reports = [call_and_report(item, "setup", log=False)]
        if reports[0].passed:
            if item.config.getoption("setupshow", False):
                show_test_item(item)
            if not item.config.getoption("setuponly", False):
                reports.append(call_and_report(item, "call", log=False))
        after = item.session if any(r.failed for r in reports) else nextitem
        if item.session.shouldfail or item.session.shouldstop:
            after = None
        reports.append(call_and_report(item, "teardown", log=False, nextitem=after))
        if has_request:
            item._request = False
            item.funcargs = None
        return reports

    def _drain(self) -> None:
        """Forget batches applied before this attempt: the next one waited for is new."""
        while self.watcher is not None:
            try:
                self.watcher.wait_for_reload(timeout=0)
            except TimeoutError:
                return

    def _show_failure(self, item: pytest.Item, failed: list, attempt: int) -> None:
        tr = self.terminal
        self._say(f"{item.nodeid} failed (attempt {attempt})", "_", red=True, bold=True)
        for report in failed:
            if tr is not None:
                report.toterminal(tr._tw)
                for title, content in report.sections:
                    tr.write_sep("-", title)
                    tr.write(content)
                tr.ensure_newline()
            else:
                print(report.longreprtext)

    def _retry(self, item: pytest.Item, failed: list, attempt: int) -> bool:
        """Show the failure and wait for a fix; False when the user gives up (Ctrl-C, pdb q)."""
        self._show_failure(item, failed, attempt)
        if self.mode == "pdb" and self.excinfo is not None:
            return self._debug(item)
        self._say(
            f"hotswap: save a fix under {', '.join(self.dirs)} to run {item.name} again "
            "(Ctrl-C stops)",
            "-",
            yellow=True,
        )
        while True:
            try:
                report = self.watcher.wait_for_reload()
            except KeyboardInterrupt:
                item.session.shouldstop = "hotswap: --reload-loop stopped by Ctrl-C"
                return False
            self._say(
                f"hotswap: {report.summary()}", cyan=not report.errors, red=bool(report.errors)
            )
            if not report.errors:
                return True

    def _debug(self, item: pytest.Item) -> bool:
        import pdb

        self._say(
            "hotswap: pdb at the failure; saved edits apply now; 'c' runs the test again, "
            "'q' gives up",
            "-",
            yellow=True,
        )
        debugger = pdb.Pdb()
        debugger.reset()
        # Between phases pytest's output capture is off but stdin is still taken: free it.
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if capman is not None:
            capman.suspend_global_capture(in_=True)
        self.in_pdb = True
        try:
            debugger.interaction(None, self.excinfo.tb)
        except KeyboardInterrupt:
            debugger.quitting = True
        finally:
            self.in_pdb = False
            if capman is not None:  # back to how it was: stdin taken, output free
                capman.resume_global_capture()
                capman.suspend_global_capture(in_=False)
        if debugger.quitting:
            item.session.shouldstop = "hotswap: --reload-loop stopped from pdb"
            return False
        return True


def compile_rewritten_modules_like_pytest(
    config: Optional[pytest.Config], roots: List[str]
) -> List[str]:
    """Have the engine compile the edits of every module under ``roots`` that pytest's assertion
    rewriter loaded (test modules, conftests) the way pytest compiles them, so a failing
    ``assert`` in edited code still explains itself; returns their files. Modules rewritten
    later are left as they are."""
    from . import _core

    compile_unit = _assertion_rewriter(config)
    under = tuple(os.path.join(os.path.realpath(root), "") for root in roots)
    paths = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        rewritten = "@pytest_ar" in getattr(module, "__dict__", {})
        if rewritten and isinstance(path, str) and os.path.realpath(path).startswith(under):
            _core.set_compile_hook(path, compile_unit)
            paths.append(path)
    return paths


def _assertion_rewriter(config: Optional[pytest.Config]):
    """The engine's compile hook for a rewritten module: a unit (at its real line numbers)
    compiled with its ``assert`` statements rewritten."""
    import ast

    from _pytest.assertion.rewrite import rewrite_asserts

    def compile_unit(source: str, filename: str, flags: int) -> types.CodeType:
        tree = compile(source, filename, "exec", flags | ast.PyCF_ONLY_AST, dont_inherit=True)
        rewrite_asserts(tree, source.encode("utf-8"), filename, config)
        return compile(tree, filename, "exec", flags, dont_inherit=True)

    return compile_unit
