"""The live Python prompt: ``hotswap`` with no program, or ``hotswap -i script.py`` after it."""

from __future__ import annotations

import os
import sys
import types

from ._run import show_user_exception


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


def run_startup_file(namespace: dict) -> None:
    """``PYTHONSTARTUP``, as the normal prompt runs it."""
    path = os.environ.get("PYTHONSTARTUP")
    if not path or not os.path.isfile(path):
        return
    try:
        with open(path, "rb") as f:
            exec(compile(f.read(), path, "exec"), namespace)
    except Exception as exc:
        show_user_exception(exc)


def interact(namespace: dict) -> None:
    """A prompt in ``namespace`` with readline completion and the REPL's history."""
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
