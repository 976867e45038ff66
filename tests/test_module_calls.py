"""A module-level call runs again when the function it calls reads a value the edit changed
(requests' `_init()` filling `codes` from `_codes`), except while that call is still running:
a script's unguarded `main()` is not started a second time."""

from __future__ import annotations

from conftest import run_cli

# The script edits its own LIMIT from a helper thread once main() has started; main() reads
# LIMIT (so a statement calling it would be run again) and must go on as the one main() call.
SCRIPT = """
import threading
import time

LIMIT = 1
starts = []


def rewrite():
    with open(__file__) as f:
        text = f.read()
    with open(__file__, "w") as f:
        f.write(text.replace("LIMIT = " + "1", "LIMIT = " + "2"))


def main():
    starts.append(time.monotonic())
    print("main started", len(starts), flush=True)
    threading.Timer(0.3, rewrite).start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if LIMIT == 2:
            time.sleep(0.3)  # time for a second main() to start, were it run again
            print("saw 2, starts:", len(starts), flush=True)
            return
        time.sleep(0.01)
    print("never saw 2", flush=True)


main()
"""


def test_unguarded_main_is_not_run_again_while_it_runs(project):
    project.write("app.py", SCRIPT)
    result = run_cli(["-v", "app.py"], cwd=project.root, timeout=40)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("main started") == 1, result.stdout
    assert "saw 2, starts: 1" in result.stdout, result.stdout
    note = "not re-run: main() is still running (a fresh start would call it with the new LIMIT)"
    assert note in result.stderr, result.stderr
