"""At interpreter exit every watcher stops before Python tears its modules down: no batch runs
against half-finalized modules, and the watch handle is closed while Python finalizes rather
than by the kernel at exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import TIMEOUT

# The check is registered before `watch()`, so it runs after hotswap's own exit handler
# (atexit runs handlers last-in first-out).
PROGRAM = textwrap.dedent(
    """\
    import atexit, os, sys, time
    sys.path.insert(0, os.getcwd())

    def late_check():
        print("running at exit:", watcher.running, flush=True)
        with open("mod.py", "w") as f:
            f.write("def f():\\n    return 'v2'\\n")
        time.sleep(0.5)
        print("value after a save at exit:", mod.f(), flush=True)

    atexit.register(late_check)
    import hotswap
    hotswap.install(os.getcwd())
    import mod
    said = lambda report: print("reloaded", report.updated, flush=True)
    watcher = hotswap.watch(os.getcwd(), on_reload=said)
    print("running:", watcher.running, flush=True)
    """
)


def run_program(tmp_path, source: str) -> subprocess.CompletedProcess:
    """Runs ``source`` as a script beside a module ``mod`` whose ``f()`` returns 'v1'."""
    (tmp_path / "mod.py").write_text("def f():\n    return 'v1'\n")
    (tmp_path / "prog.py").write_text(source)
    done = subprocess.run(
        [sys.executable, "prog.py"], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    return done


def test_watchers_stop_at_interpreter_exit(tmp_path):
    done = run_program(tmp_path, PROGRAM)
    assert done.stdout.splitlines() == [
        "running: True",
        "running at exit: False",
        "value after a save at exit: v1",
    ], done.stdout + done.stderr


def test_a_watcher_stopped_by_hand_and_exit_both_stop_it_once(tmp_path):
    done = run_program(
        tmp_path,
        "import os, sys\nsys.path.insert(0, os.getcwd())\nimport hotswap\n"
        "w1 = hotswap.watch(os.getcwd())\nw2 = hotswap.watch(os.getcwd())\nw1.stop()\n"
        "print('stopped by hand:', w1.running, w2.running)\n",
    )
    assert done.stdout.strip() == "stopped by hand: False True"
    assert done.stderr == ""
