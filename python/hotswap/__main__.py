"""Command line: ``hotswap [options] script.py [args...]``, ``hotswap -m module [args...]``.

The program runs exactly as under ``python`` (``__main__``, ``sys.argv``, ``sys.path[0]``, exit
code, tracebacks), while edits to files under the watched directories are applied live.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import os
import sys
import types

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, NoReturn, Optional


USAGE = """\
usage: hotswap [options] script.py [args...]
       hotswap [options] -m module[:function] [args...]
       hotswap [options]                      (a live Python prompt)
       hotswap attach [-w PATH]... PID        (make a running program live; Python 3.14+)
       hotswap [options] --loop module:function [args...]

Runs a Python program and applies every edit saved under the watched directories to the
running program, keeping its state.

options:
  -m MODULE[:FUNC]  run a module as a script (or call FUNC from it)
  -w, --watch PATH  watch this directory (repeatable; default: the script's directory,
                    or the current directory with -m and for the prompt)
  --debounce MS     quiet time after a write before the file is read (default 2)
  --sync MODE       when edits apply: immediate (default, from the watcher thread), main
                    (on the main thread between two bytecodes) or manual (when the program
                    calls hotswap.poll())
  --on-rude ACTION  after an edit that cannot be applied in place (e.g. a class whose
                    instance layout changed): warn (default) and keep running, or restart
                    the program with the same arguments
  -i                open an interactive prompt after the program ends (still live)
  --no-children     do not make Python processes the program starts live (by default
                    they are: forked ones always, others through HOTSWAP_WATCH)
  --no-live-loops   leave the script's `while True:` loops as they are (by default a
                    running one takes its new body at its next iteration)
  --test ARGS       after each applied edit, run the tests (pytest ARGS: paths and options,
                    one shell-quoted string, repeatable) that import a changed module, in
                    this process; edits then apply on the main thread unless --sync is given
  --revert-on-fail  with --test: take back an edit whose tests fail in the running program
                    (the file is not changed)
  --loop MOD:FUNC   call FUNC, then call it again after each edit of its module or of the
                    modules it loaded; Ctrl-C stops
  -v, --verbose     say what is watched and every step of each update
  -q, --quiet       only report errors
  --version         print the version and exit
  -h, --help        show this help and exit
"""


class Options:
    def __init__(self) -> None:
        self.module: Optional[str] = None
        self.script: Optional[str] = None
        self.args: List[str] = []
        self.watch: List[str] = []
        self.debounce: Optional[float] = None
        self.sync = "immediate"
        self.on_rude = "warn"
        self.interactive = False
        self.verbosity = 0
        self.children = True
        self.live_loops = True
        self.loop: Optional[str] = None
        self.test_args: List[str] = []
        self.revert_on_fail = False
        self.sync_given = False


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"hotswap: {message}\n{USAGE.splitlines()[0]}\n")
    raise SystemExit(2)


def parse_args(argv: List[str]) -> Options:
    """Options stop at the script or module; everything after belongs to the program."""
    opts = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]

        def value(i: int = i, arg: str = arg) -> str:
            if i + 1 >= len(argv):
                _fail(f"{arg} needs a value")
            return argv[i + 1]

        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        if arg == "--version":
            from . import __version__

            print(f"hotswap {__version__}")
            raise SystemExit(0)
        if arg == "-m":
            opts.module = value()
            opts.args = argv[i + 2 :]
            return opts
        if arg == "--loop" or arg.startswith("--loop="):
            opts.loop = arg.split("=", 1)[1] if "=" in arg else value()
            opts.args = argv[i + 1 if "=" in arg else i + 2 :]
            return opts
        if arg in ("-w", "--watch"):
            opts.watch.append(value())
            i += 2
        elif arg.startswith("--watch="):
            opts.watch.append(arg.split("=", 1)[1])
            i += 1
        elif arg == "--debounce" or arg.startswith("--debounce="):
            text = arg.split("=", 1)[1] if "=" in arg else value()
            try:
                opts.debounce = float(text)
            except ValueError:
                _fail(f"--debounce needs a number of milliseconds, not {text!r}")
            i += 1 if "=" in arg else 2
        elif arg == "--test" or arg.startswith("--test="):
            import shlex

            opts.test_args.extend(shlex.split(arg.split("=", 1)[1] if "=" in arg else value()))
            i += 1 if "=" in arg else 2
        elif arg == "--revert-on-fail":
            opts.revert_on_fail = True
            i += 1
        elif arg == "--sync" or arg.startswith("--sync="):
            opts.sync_given = True
            opts.sync = arg.split("=", 1)[1] if "=" in arg else value()
            if opts.sync not in ("immediate", "main", "manual"):
                _fail(f"--sync must be immediate, main or manual, not {opts.sync!r}")
            i += 1 if "=" in arg else 2
        elif arg == "--on-rude" or arg.startswith("--on-rude="):
            opts.on_rude = arg.split("=", 1)[1] if "=" in arg else value()
            if opts.on_rude not in ("warn", "restart"):
                _fail(f"--on-rude must be warn or restart, not {opts.on_rude!r}")
            i += 1 if "=" in arg else 2
        elif arg == "-i":
            opts.interactive = True
            i += 1
        elif arg == "--no-children":
            opts.children = False
            i += 1
        elif arg == "--no-live-loops":
            opts.live_loops = False
            i += 1
        elif arg in ("-v", "--verbose"):
            opts.verbosity += 1
            i += 1
        elif arg in ("-q", "--quiet"):
            opts.verbosity -= 1
            i += 1
        elif arg == "--":
            if i + 1 < len(argv):
                opts.script, opts.args = argv[i + 1], argv[i + 2 :]
            return opts
        elif arg.startswith("-") and arg != "-":
            _fail(f"unknown option {arg}")
        else:
            opts.script, opts.args = arg, argv[i + 1 :]
            return opts
    return opts


def _configure_logging(verbosity: int) -> None:
    from . import _log

    _log.to_stderr(verbosity)


def _user_traceback(exc: BaseException) -> Optional[types.TracebackType]:
    """The traceback without hotswap's own frames, as ``python script.py`` would show it."""
    tb = exc.__traceback__
    here = os.path.dirname(os.path.abspath(__file__))
    while (
        tb is not None and os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) == here
    ):
        tb = tb.tb_next
    return tb


def _fresh_main(path: Optional[str]) -> types.ModuleType:
    main = types.ModuleType("__main__")
    main.__dict__.update({"__builtins__": builtins, "__spec__": None, "__cached__": None})
    if path is not None:
        main.__file__ = path
    sys.modules["__main__"] = main
    return main


def _compile_main(source: bytes, path: str, live_loops: bool) -> types.CodeType:
    """The script's code, with its main ``while True:`` loops made live (see ``_liveloop``)."""
    # No `while` anywhere: nothing to make live, and importing ast costs ~5 ms.
    if live_loops and b"while" in source:
        import ast

        from ._liveloop import make_main_loops_live

        try:
            tree = ast.parse(source, path)
        except (SyntaxError, ValueError):
            tree = None  # compiled as is below, so the error reads as under python
        if tree is not None and make_main_loops_live(tree):
            return compile(tree, path, "exec", dont_inherit=True)
    return compile(source, path, "exec", dont_inherit=True)


def run_script(script: str, args: List[str], live_loops: bool = False) -> types.ModuleType:
    from . import _core

    path = os.path.abspath(script)
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        sys.stderr.write(
            f"hotswap: can't open file {script!r}: [Errno {exc.errno}] {exc.strerror}\n"
        )
        raise SystemExit(2) from None
    sys.argv[:] = [script, *args]
    sys.path[0] = os.path.dirname(path)
    main = _fresh_main(path)
    _core.record_source(path, source)
    code = _compile_main(source, path, live_loops)
    exec(code, main.__dict__)
    return main


def run_module(target: str, args: List[str]) -> types.ModuleType:
    import runpy

    from . import _core

    name, _, function = target.partition(":")
    sys.argv[:] = [target, *args]
    sys.path[0] = os.getcwd()
    if function:
        module = importlib.import_module(name)
        result = getattr(module, function)()
        if isinstance(result, int) and not isinstance(result, bool):
            raise SystemExit(result)
        return module
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        with open(spec.origin, "rb") as f:
            _core.record_source(spec.origin, f.read())
    sys.argv[0] = spec.origin if spec is not None and spec.origin else name
    namespace = runpy.run_module(name, run_name="__main__", alter_sys=True)
    module = types.ModuleType("__main__")
    module.__dict__.update(namespace)
    return module


def _keep_history(readline: types.ModuleType) -> None:
    """Share the normal REPL's history file: read it now, write it back on exit."""
    import atexit

    path = os.environ.get("PYTHON_HISTORY") or os.path.join(
        os.path.expanduser("~"), ".python_history"
    )
    if readline.get_current_history_length() == 0:
        try:
            readline.read_history_file(path)
        except OSError:
            pass

    def write() -> None:
        try:
            readline.write_history_file(path)
        except OSError:
            pass

    atexit.register(write)


def _run_startup_file(namespace: dict) -> None:
    """``PYTHONSTARTUP``, as the normal prompt runs it."""
    path = os.environ.get("PYTHONSTARTUP")
    if not path or not os.path.isfile(path):
        return
    try:
        with open(path, "rb") as f:
            exec(compile(f.read(), path, "exec"), namespace)
    except Exception as exc:
        tb = _user_traceback(exc)
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)


def interact(namespace: dict) -> None:
    import code

    try:
        import readline
        import rlcompleter

        readline.set_completer(rlcompleter.Completer(namespace).complete)
        if "libedit" in (readline.__doc__ or ""):  # pragma: no cover - macOS's readline
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")
        if sys.stdin.isatty():
            _keep_history(readline)
    except ImportError:  # pragma: no cover - platforms without readline
        pass
    banner = (
        f"hotswap live prompt, Python {sys.version.split()[0]}: "
        "modules imported from the watched directories are live"
    )
    code.interact(banner=banner, local=namespace, exitmsg="")


def _restart_command(cli_args: List[str]) -> List[str]:
    """The command that started this program: interpreter options, ``-m hotswap``, arguments."""
    orig = getattr(sys, "orig_argv", None)
    if orig and "hotswap" in " ".join(orig):
        return list(orig)
    return [sys.executable, "-m", "hotswap", *cli_args]


def _restart_on_rude(cli_args: List[str]):
    """An ``on_reload`` callback that restarts the process after a rude edit."""
    from . import _log as log

    def on_reload(report) -> None:
        if not report.rude:
            return
        log.warning("restarting: an edit could not be applied in place (--on-rude restart)")
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        command = _restart_command(cli_args)
        os.execv(command[0], command)

    return on_reload


def _quieter_in_forked_children(verbosity: int) -> None:
    """A forked child applies each edit too: it only says so with -v, and names itself."""

    def child() -> None:
        from . import _log

        prefix = f"hotswap[{os.getpid()}]"
        if _log.restyle_pending(prefix, _log.WARNING):
            return  # logging not used yet: the set-up made when it is carries the new style
        import logging

        logger = logging.getLogger("hotswap")
        for handler in logger.handlers:
            handler.setFormatter(logging.Formatter(f"{prefix}: %(message)s"))
        if verbosity <= 0:
            logger.setLevel(logging.WARNING if verbosity == 0 else logging.ERROR)

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=child)


def _both(first, second):
    """One ``on_reload`` callback calling ``first`` then ``second`` (either may be None)."""
    if first is None or second is None:
        return first or second

    def on_reload(report) -> None:
        first(report)
        second(report)

    return on_reload


def _live_children(opts: Options, roots: List[str]) -> None:
    """Python processes the program starts watch the same roots (see ``_autostart``)."""
    _quieter_in_forked_children(opts.verbosity)
    if "hotswap._autostart" in sys.modules:  # started with HOTSWAP_WATCH set: this CLI watches
        sys.modules["hotswap._autostart"].stop()
    if not opts.children:
        for name in ("HOTSWAP_WATCH", "HOTSWAP_MAIN", "HOTSWAP_SYNC", "HOTSWAP_DEBOUNCE"):
            os.environ.pop(name, None)
        return
    os.environ["HOTSWAP_WATCH"] = os.pathsep.join(os.path.abspath(r) for r in roots)
    if opts.script is not None:
        os.environ["HOTSWAP_MAIN"] = os.path.abspath(opts.script)
    os.environ["HOTSWAP_SYNC"] = opts.sync
    if opts.debounce is not None:
        os.environ["HOTSWAP_DEBOUNCE"] = str(opts.debounce)
    os.environ["HOTSWAP_VERBOSITY"] = str(opts.verbosity)


def main(argv: Optional[List[str]] = None) -> int:
    import hotswap

    cli_args = sys.argv[1:] if argv is None else list(argv)
    if cli_args[:1] == ["attach"]:
        from ._attach import attach_main

        return attach_main(cli_args[1:])
    opts = parse_args(cli_args)
    _configure_logging(opts.verbosity)
    if opts.script is not None:
        default_root = os.path.dirname(os.path.abspath(opts.script))
    else:
        default_root = os.getcwd()
    roots = opts.watch or [default_root]
    missing = [r for r in roots if not os.path.exists(r)]
    if missing:
        _fail(f"cannot watch {missing[0]!r}: no such file or directory")
    _live_children(opts, roots)
    hotswap.install(roots)
    from ._frameworks import install as turn_off_restart_reloaders

    turn_off_restart_reloaders()
    on_reload = _restart_on_rude(cli_args) if opts.on_rude == "restart" else None
    if opts.test_args or opts.revert_on_fail:
        from ._testrun import TestOnReload

        if not opts.test_args:
            _fail("--revert-on-fail needs --test")
        on_reload = _both(TestOnReload(opts.test_args, opts.revert_on_fail, roots), on_reload)
        if not opts.sync_given:
            opts.sync = "main"
    watcher = hotswap.watch(*roots, debounce_ms=opts.debounce, sync=opts.sync, on_reload=on_reload)
    status = 0
    main_module: Optional[types.ModuleType] = None
    try:
        if opts.loop is not None:
            from ._devloop import run_loop

            return run_loop(opts.loop, opts.args, watcher)
        if opts.script is None and opts.module is None:
            sys.argv[:] = [""]
            sys.path[0] = ""
            main_module = _fresh_main(None)
            _run_startup_file(main_module.__dict__)
            interact(main_module.__dict__)
            return 0
        try:
            if opts.module is not None:
                main_module = run_module(opts.module, opts.args)
            else:
                main_module = run_script(opts.script, opts.args, opts.live_loops)
        except SystemExit:
            if not opts.interactive:
                raise
            main_module = sys.modules.get("__main__")
        except BaseException as exc:  # report it as python would, then exit like python
            tb = _user_traceback(exc)
            sys.excepthook(type(exc), exc.with_traceback(tb), tb)
            status = 130 if isinstance(exc, KeyboardInterrupt) else 1
            main_module = sys.modules.get("__main__")
            if not opts.interactive:
                return status
        if opts.interactive:
            namespace = main_module.__dict__ if main_module is not None else {}
            interact(namespace)
        return status
    finally:
        watcher.stop()


if __name__ == "__main__":
    sys.exit(main())
