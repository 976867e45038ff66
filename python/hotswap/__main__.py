"""Command line: ``hotswap [options] script.py [args...]``, ``hotswap -m module [args...]``.

The program runs exactly as under ``python`` (see ``_run``), while edits to files under the
watched directories are applied live. The options are one table (``OPTIONS``), which parses
the command line and writes ``--help``; a bad one is a single line on stderr and exit status 2.
"""

from __future__ import annotations

import os
import sys

from ._options import Option, UsageError, choice, converter, fail, format_help, number, parse

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional

    from ._options import Parsed


USAGE = """\
usage: hotswap [options] script.py [args...]
       hotswap [options] -m module[:function] [args...]
       hotswap [options] --loop module:function [args...]
       hotswap [options]                      (a live Python prompt)
       hotswap attach [-w PATH]... PID        (make a running program live; Python 3.14+)
       hotswap pytest [pytest args...]        (run in the project's warm pytest daemon)

Runs a Python program and applies every edit saved under the watched directories to the
running program, keeping its state.
"""

EPILOG = """\
other ways in:
  pytest --reload-loop  a failing test waits for your fix, then runs again (pytest plugin)
  %load_ext hotswap     IPython / Jupyter: the modules you import are live
  import hotswap        the Python API: hotswap.watch(), hotswap.reload_paths(),
                        hotswap.patch() (see help(hotswap) and the README)
"""


@converter("module or module:function")
def _module_target(text: str) -> str:
    name, colon, function = text.partition(":")
    if not name or (colon and not function):
        raise ValueError(text)
    return text


@converter("module:function")
def _function_target(text: str) -> str:
    name, _, function = text.partition(":")
    if not name or not function:
        raise ValueError(text)
    return text


@converter("an existing directory or file")
def _existing_path(text: str) -> str:
    if not text or not os.path.exists(text):
        raise ValueError(text)
    return text


@converter("a file, a FIFO or - (standard output)")
def _events_target(text: str) -> str:
    if not text:
        raise ValueError(text)
    return text


@converter("pytest arguments as one shell-quoted string")
def _pytest_args(text: str) -> List[str]:
    import shlex

    return shlex.split(text)  # unbalanced quotes raise ValueError


_RUN, _WATCH, _POLICY, _OUTPUT = "what to run", "watching", "the running program", "output"

# fmt: off
OPTIONS = (
    Option(("-m",), "module", "run a module as a script (or call FUNC from it)", _RUN,
           "MODULE[:FUNC]", _module_target, ends_options=True),
    Option(("--loop",), "loop", "call FUNC, then call it again after each edit of its module "
           "or of the modules it loaded; Ctrl-C stops", _RUN, "MOD:FUNC", _function_target,
           ends_options=True),
    Option(("-i",), "interactive", "open an interactive prompt after the program ends "
           "(still live)", _RUN, action="const"),
    Option(("-w", "--watch"), "watch", "watch this directory (repeatable; default: the "
           "script's directory, or the current directory with -m and for the prompt)", _WATCH,
           "PATH", _existing_path, action="append"),
    Option(("--debounce",), "debounce", "quiet time after a write before the file is read "
           "(default 2)", _WATCH, "MS", number("milliseconds", 0)),
    Option(("--sync",), "sync", "when edits apply: immediate (default, from the watcher "
           "thread), main (on the main thread between two bytecodes) or manual (when the "
           "program calls hotswap.poll())", _WATCH, "MODE", choice("immediate", "main", "manual")),
    Option(("--test",), "test_args", "after each applied edit, run the tests (pytest ARGS: "
           "paths and options, one shell-quoted string, repeatable) that import a changed "
           "module, in this process; edits then apply on the main thread unless --sync is "
           "given", _WATCH, "ARGS", _pytest_args, action="extend"),
    Option(("--revert-on-fail",), "revert_on_fail", "with --test: take back an edit whose "
           "tests fail in the running program (the file is not changed)", _WATCH,
           action="const"),
    Option(("--on-rude",), "on_rude", "after an edit that cannot be applied in place (e.g. a "
           "class whose instance layout changed): warn (default) and keep running, or restart "
           "the program with the same arguments", _POLICY, "ACTION", choice("warn", "restart")),
    Option(("--no-children",), "no_children", "do not make Python processes the program "
           "starts live (by default they are: forked ones always, others through "
           "HOTSWAP_WATCH)", _POLICY, action="const"),
    Option(("--no-live-loops",), "no_live_loops", "leave the script's `while True:` loops as "
           "they are (by default a running one takes its new body at its next iteration)",
           _POLICY, action="const"),
    Option(("--message-format",), "message_format", "plain (default; or HOTSWAP_MESSAGE_FORMAT) "
           "or compiler: every error and rude edit on stderr as `path:line:col: error: "
           "message` (`warning:` for rude edits), for editors' problem matchers", _OUTPUT,
           "FORMAT", choice("plain", "compiler")),
    Option(("--events",), "events", "write one JSON object per line for every batch and for "
           "start, watching, restart and stop (schema 1, see the README) to this file (appended), "
           "FIFO or - (standard output); never blocks the program", _OUTPUT, "PATH",
           _events_target),
    Option(("-v", "--verbose"), "verbosity", "say what is watched and every step of each "
           "update", _OUTPUT, action="count", const=1),
    Option(("-q", "--quiet"), "verbosity", "only report errors", _OUTPUT, action="count",
           const=-1),
    Option(("--version",), "version", "print the version and exit", _OUTPUT, action="const",
           ends_options=True),
    Option(("-h", "--help"), "help", "show this help and exit", _OUTPUT, action="const",
           ends_options=True),
)
# fmt: on


class Options:
    """What the command line asks for: the parsed table plus the program to run."""

    def __init__(self, parsed: Parsed) -> None:
        self.given = parsed.given
        self.help = bool(parsed.help)
        self.version = bool(parsed.version)
        self.module: Optional[str] = parsed.module
        self.loop: Optional[str] = parsed.loop
        self.script: Optional[str] = None
        self.args: List[str] = parsed.rest
        if self.module is None and self.loop is None and not (self.help or self.version):
            self.script, self.args = (
                (parsed.rest[0], parsed.rest[1:]) if parsed.rest else (None, [])
            )
        self.watch: List[str] = parsed.watch
        self.debounce: Optional[float] = parsed.debounce
        self.sync: str = parsed.sync or "immediate"
        self.on_rude: str = parsed.on_rude or "warn"
        self.interactive = bool(parsed.interactive)
        self.verbosity: int = parsed.verbosity
        self.children = not parsed.no_children
        self.live_loops = not parsed.no_live_loops
        self.test_args: List[str] = parsed.test_args
        self.revert_on_fail = bool(parsed.revert_on_fail)
        if self.revert_on_fail and not self.test_args:
            raise UsageError("--revert-on-fail needs --test")
        self.message_format: str = parsed.message_format or _message_format_from_env()
        self.events: Optional[str] = parsed.events


def _message_format_from_env() -> str:
    value = os.environ.get("HOTSWAP_MESSAGE_FORMAT") or "plain"
    if value not in ("plain", "compiler"):
        raise UsageError(f"HOTSWAP_MESSAGE_FORMAT: expected plain or compiler; got {value!r}")
    return value


def _open_events(target: Optional[str]):
    """The event stream ``--events`` names (None without it); a file that cannot be opened is
    a usage error. A FIFO without a reader is opened later, when one comes."""
    if target is None:
        return None
    from ._events import EventStream

    try:
        return EventStream(target)
    except OSError as exc:
        raise UsageError(f"--events: cannot open {target!r}: {exc.strerror}") from None


def parse_args(argv: List[str]) -> Options:
    """Options stop at the script or module; everything after belongs to the program."""
    return Options(parse(OPTIONS, argv))


def _on_reload(opts: Options, cli_args: List[str], roots: List[str], events):
    """The callback for each applied batch: update web routes, restart on rude edits, run tests."""
    from ._frameworks import after_batch as update_web_routes
    from ._policy import both, restart_on_rude

    on_reload = restart_on_rude(cli_args, events) if opts.on_rude == "restart" else None
    if opts.test_args:
        from ._testrun import TestOnReload

        on_reload = both(TestOnReload(opts.test_args, opts.revert_on_fail, roots), on_reload)
        if "sync" not in opts.given:
            opts.sync = "main"
    return both(update_web_routes, on_reload)


def _run_program(opts: Options, watcher) -> int:
    """Run what the command line names under ``watcher``; the exit status."""
    from . import _run

    if opts.loop is not None:
        from ._devloop import run_loop

        return run_loop(opts.loop, opts.args, watcher)
    if opts.script is None and opts.module is None:
        from . import _prompt  # here: it imports code, ctypes and shutil (~10 ms)

        sys.argv[:] = [""]
        sys.path[0] = ""
        namespace = _run.fresh_main(None).__dict__
        _prompt.run_startup_file(namespace)
        _prompt.interact(namespace, watcher.roots)
        return 0
    status = 0
    try:
        if opts.module is not None:
            _run.run_module(opts.module, opts.args)
        else:
            _run.run_script(opts.script, opts.args, opts.live_loops)
    except UsageError:
        raise
    except SystemExit:
        if not opts.interactive:
            raise
    except BaseException as exc:  # report it as python would, then exit like python
        _run.show_user_exception(exc)
        status = 130 if isinstance(exc, KeyboardInterrupt) else 1
        if not opts.interactive:
            return status
    if opts.interactive:
        from . import _prompt

        main_module = sys.modules.get("__main__")
        _prompt.interact(main_module.__dict__ if main_module is not None else {}, watcher.roots)
    return status


def _main(cli_args: List[str]) -> int:
    import hotswap

    if cli_args[:1] == ["attach"]:
        from ._attach import attach_main

        return attach_main(cli_args[1:])
    if cli_args[:1] == ["pytest"]:
        from ._daemon_fast import main as pytest_main

        return pytest_main(cli_args[1:])
    opts = parse_args(cli_args)
    if opts.help:
        sys.stdout.write(format_help(USAGE, OPTIONS, EPILOG))
        return 0
    if opts.version:
        sys.stdout.write(f"hotswap {hotswap.__version__}\n")
        return 0
    from . import _log
    from ._policy import live_children

    _log.to_stderr(opts.verbosity)
    _log.set_message_format(opts.message_format)
    events = _open_events(opts.events)
    default_root = os.path.dirname(os.path.abspath(opts.script)) if opts.script else os.getcwd()
    roots = opts.watch or [default_root]
    live_children(opts, roots)
    hotswap.install(roots)
    from ._frameworks import install as turn_off_restart_reloaders

    turn_off_restart_reloaders()
    on_reload = _on_reload(opts, cli_args, roots, events)
    watcher = hotswap.watch(
        *roots,
        debounce_ms=opts.debounce,
        sync=opts.sync,
        on_reload=on_reload,
        on_event=events.emit if events is not None else None,
        message_format=opts.message_format,
    )
    try:
        return _run_program(opts, watcher)
    finally:
        watcher.stop()
        if events is not None:
            events.close()


def main(argv: Optional[List[str]] = None) -> int:
    """The ``hotswap`` command; the exit status."""
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    except UsageError as exc:
        return fail("hotswap", str(exc))


if __name__ == "__main__":
    sys.exit(main())
