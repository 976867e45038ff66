"""A changed function that calls a function added by the same save: another thread calling it
must never find the new body without the new function (a fresh start has both). The switch
interval is made tiny so that the interpreter hands the GIL to the busy thread at the first
chance the reload gives it."""

from __future__ import annotations

import sys

import pytest

CALLER = """
import sys
import threading
import target

sys.setswitchinterval(1e-6)
state = {"calls": 0, "errors": []}


def work():
    while True:
        try:
            target.f()
        except Exception as exc:  # the check: any exception is a half-applied save
            state["errors"].append(repr(exc))
        state["calls"] += 1


def start():
    threading.Thread(target=work, daemon=True, name="busy").start()
"""


def version(n: int) -> str:
    """Version n: f calls helper_n, added by this version (the previous one is removed)."""
    return f"X = {n}\n\n\ndef f():\n    return helper_{n}()\n\n\ndef helper_{n}():\n    return X\n"


@pytest.mark.xfail(
    sys.version_info[:2] == (3, 10),
    reason="on 3.10 only, the busy thread still calls the old body after the save deleted the old "
    "helper (NameError: helper_0), not explained yet (README, Missing or limited today)",
    strict=False,
)
def test_a_thread_never_calls_a_new_body_before_the_function_it_adds(project):
    project.write("target.py", version(0))
    project.write("caller.py", CALLER)
    prog = project.start()
    prog.exec("import caller; caller.start()")
    prog.wait_until("caller.state['calls'] > 100", True)
    for n in range(1, 31):
        project.write("target.py", version(n))
        report = prog.reload("target.py")
        assert not report["errors"], report
        prog.wait_until("caller.target.f()", n)
    calls = prog.eval("caller.state['calls']")
    assert prog.eval("caller.state['errors'][:5]") == [], f"over {calls} calls"
