"""The live Python prompt: ``hotswap`` with no program, or ``hotswap -i script.py`` after it."""

from __future__ import annotations

import code
import ctypes
import os
import shutil
import sys
import types
import unicodedata
from typing import Callable, Optional, Sequence, TextIO

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


class LiveConsole(code.InteractiveConsole):
    """The standard console, remembering the prompt it is waiting at (None while code runs)."""

    waiting_prompt: Optional[str] = None

    def raw_input(self, prompt: str = "") -> str:
        self.waiting_prompt = prompt
        try:
            return input(prompt)
        finally:
            self.waiting_prompt = None


class AbovePrompt:
    """A log stream that writes a message from another thread on its own line above the
    prompt, then redraws the prompt with what the user has typed so far (readline keeps it)."""

    def __init__(self, stream: TextIO, console: LiveConsole, readline: types.ModuleType) -> None:
        self.stream = stream
        self.console = console
        self.readline = readline
        self.cursor = _readline_cursor(readline)

    def write(self, text: str) -> int:
        prompt = self.console.waiting_prompt
        if prompt is None or not text.endswith("\n"):
            return self.stream.write(text)
        typed = self.readline.get_line_buffer()
        # Put the cursor back where readline has it (it may have been moved left), so that
        # what is typed next appears where readline puts it.
        after_cursor = _text_after(typed, self.cursor) if self.cursor is not None else ""
        back = f"\x1b[{columns(after_cursor)}D" if after_cursor else ""
        # A line longer than the terminal is wide wraps: clear from its first row.
        width = shutil.get_terminal_size().columns
        rows_up = (columns(prompt + typed) - columns(after_cursor)) // max(width, 1)
        up = f"\x1b[{rows_up}A" if rows_up else ""
        return self.stream.write(up + "\r\x1b[J" + text + prompt + typed + back)

    def flush(self) -> None:
        self.stream.flush()


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: wide characters (CJK, most emoji) two,
    combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _readline_cursor(readline: types.ModuleType) -> Optional[ctypes.c_int]:
    """readline's ``rl_point`` (the cursor's byte offset in the line), which the ``readline``
    module does not expose; None where the library does not export it."""
    try:
        return ctypes.c_int.in_dll(ctypes.CDLL(readline.__file__), "rl_point")
    except (OSError, ValueError, AttributeError):
        return None


def _text_after(typed: str, cursor: ctypes.c_int) -> str:
    encoded = typed.encode("utf-8", "replace")
    point = min(max(cursor.value, 0), len(encoded))
    return encoded[point:].decode("utf-8", "replace")


def _log_above_prompt(console: LiveConsole, readline: types.ModuleType) -> Callable[[], None]:
    """Route hotswap's stderr log lines through :class:`AbovePrompt`; returns the undo."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return lambda: None
    import logging

    from . import _log

    handlers = [
        h
        for h in _log.logger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is sys.stderr
    ]
    for handler in handlers:
        handler.setStream(AbovePrompt(sys.stderr, console, readline))

    def undo() -> None:
        for handler in handlers:
            handler.setStream(sys.stderr)

    return undo


def interact(namespace: dict, roots: Sequence[str] = ()) -> None:
    """A prompt in ``namespace`` with readline completion and the REPL's history."""
    console = LiveConsole(namespace)
    undo = None
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
        undo = _log_above_prompt(console, readline)
    except ImportError:  # pragma: no cover - platforms without readline
        pass
    watched = ", ".join(roots) if roots else "nothing"
    banner = (
        f"hotswap live prompt, Python {sys.version.split()[0]}: watching {watched}; "
        "modules imported from there are live"
    )
    try:
        console.interact(banner=banner, exitmsg="")
    finally:
        if undo is not None:
            undo()
