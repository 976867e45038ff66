"""``hotswap --loop module:function``: call a function, and again after every edit of its code.

The function runs on the main thread. When it returns (or raises), hotswap waits for the next
applied edit to the function's module or to a module loaded since it was imported (the code it
uses), then calls it again. Ctrl-C stops.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import List, Set


def _module_of(name: str, candidates: Set[str]) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in candidates for i in range(len(parts), 0, -1))


def _rule(text: str) -> None:
    width = 72
    line = f"── {text} "
    sys.stdout.write(line + "─" * max(0, width - len(line)) + "\n")
    sys.stdout.flush()


def _call(function, traceback_root: str) -> None:
    try:
        result = function()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # shown, then the loop waits for a fix
        tb = exc.__traceback__
        while tb is not None and os.path.dirname(tb.tb_frame.f_code.co_filename) == traceback_root:
            tb = tb.tb_next
        sys.stdout.flush()
        traceback.print_exception(type(exc), exc, tb)
        sys.stderr.flush()
        return
    if result is not None:
        print(repr(result), flush=True)


def run_loop(target: str, args: List[str], watcher) -> int:
    """Run ``module:function`` until Ctrl-C; the exit status of ``hotswap --loop``."""
    name, _, attr = target.partition(":")
    if not name or not attr:
        sys.stderr.write(f"hotswap: --loop needs module:function, not {target!r}\n")
        return 2
    sys.argv[:] = [target, *args]
    sys.path[0] = os.getcwd()
    before = set(sys.modules)
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        module = importlib.import_module(name)
        function = getattr(module, attr)
    except KeyboardInterrupt:
        return 130
    except BaseException:
        traceback.print_exc()
        return 1
    if not callable(function):
        sys.stderr.write(f"hotswap: {target} is not callable\n")
        return 2
    runs = 0
    reason = "start"
    try:
        while True:
            runs += 1
            _rule(f"{target} (run {runs}, {reason})")
            _call(getattr(module, attr, function), here)
            used = {name} | (set(sys.modules) - before)
            _rule("waiting for an edit (Ctrl-C stops)")
            while True:
                report = watcher.wait_for_reload()
                changed = [*report.updated, *report.added, *report.deleted]
                relevant = [n for n in changed if _module_of(n, used)]
                if relevant and not report.errors:
                    reason = "updated " + ", ".join(relevant[:3])
                    reason += f" and {len(relevant) - 3} more" if len(relevant) > 3 else ""
                    break
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return 0
