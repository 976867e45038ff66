"""``hotswap --loop module:function``: call a function, and again after every edit of its code.

The function runs on the main thread. When it returns (or raises), hotswap waits for the next
applied edit to the function's module or to a module loaded since it was imported (the code it
uses), then calls it again. Ctrl-C stops.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import List, Set

from ._options import UsageError
from ._run import load_function, show_user_exception, user_traceback


def _module_of(name: str, candidates: Set[str]) -> bool:
    """Whether module ``name`` is one of ``candidates`` or inside one of them (a package)."""
    parts = name.split(".")
    return any(".".join(parts[:i]) in candidates for i in range(len(parts), 0, -1))


def _rule(text: str) -> None:
    width = 72
    line = f"── {text} "
    sys.stdout.write(line + "─" * max(0, width - len(line)) + "\n")
    sys.stdout.flush()


def _call(function) -> None:
    try:
        result = function()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # shown, then the loop waits for a fix
        sys.stdout.flush()
        tb = user_traceback(exc)
        traceback.print_exception(type(exc), exc, tb)
        sys.stderr.flush()
        return
    if result is not None:
        print(repr(result), flush=True)


def run_loop(target: str, args: List[str], watcher) -> int:
    """Run ``module:function`` until Ctrl-C; the exit status of ``hotswap --loop``.

    A module or function that cannot be found is a ``UsageError``; an exception raised while
    the user's module is imported is shown as ``python`` shows it (status 1)."""
    name = target.partition(":")[0]
    sys.argv[:] = [target, *args]
    sys.path[0] = os.getcwd()
    before = set(sys.modules)
    try:
        module, function = load_function(target, "--loop")
    except KeyboardInterrupt:
        return 130
    except UsageError:
        raise
    except BaseException as exc:
        show_user_exception(exc)
        return 1
    attr = target.partition(":")[2]
    runs = 0
    reason = "start"
    try:
        while True:
            runs += 1
            _rule(f"{target} (run {runs}, {reason})")
            _call(getattr(module, attr, function))
            used = {name} | (set(sys.modules) - before)
            _rule("waiting for an edit (Ctrl-C stops)")
            reason = _next_relevant_change(watcher, used)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return 0


def _next_relevant_change(watcher, used: Set[str]) -> str:
    """Wait for an applied edit to one of the ``used`` modules; why the function runs again."""
    while True:
        report = watcher.wait_for_reload()
        if not report.errors and any(_module_of(n, used) for n in report.modules):
            return report.summary()
