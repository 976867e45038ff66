"""``hotswap.live_loop``: a running loop takes its new body at the next iteration."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from conftest import TIMEOUT
from test_processes import Lines, hotswap_cli

# Each line on stdin is one iteration; the loop reports its locals after each one.
LOOP = """\
import json, sys
import hotswap

def main():
    total = 0
    history = []
    for line in hotswap.live_loop(sys.stdin):
        command = line.strip()
        if command == "stop":
            break
        total += 1
        history.append(command)
        print(json.dumps({"total": total, "history": history}), flush=True)
    print(json.dumps({"after": total, "command": command, "history": history}), flush=True)

main()
"""


def wait_stderr(program: Lines, text: str) -> None:
    """stderr is read by another thread: wait for ``text`` to arrive."""
    deadline = time.monotonic() + TIMEOUT
    while text not in program.stderr:
        assert time.monotonic() < deadline, program.stderr
        time.sleep(0.01)


def iterate_until_step(program: Lines, command: str, key: str, step: int) -> dict:
    """Iterates until ``key`` grows by ``step`` in one iteration (the new body ran)."""
    deadline = time.monotonic() + TIMEOUT
    previous = None
    while True:
        program.send(command)
        line = program.next()
        if previous is not None and line[key] - previous == step:
            return line
        previous = line[key]
        assert time.monotonic() < deadline, f"{line}\n{program.stderr}"
        time.sleep(0.02)


def test_running_loop_takes_its_new_body_with_locals_intact(project):
    project.write("app.py", LOOP)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        program.send("a")
        assert program.next() == {"total": 1, "history": ["a"]}
        project.write("app.py", LOOP.replace("total += 1", "total += 100"), how="atomic")
        line = iterate_until_step(program, "b", "total", 100)
        assert line["history"][0] == "a"
        # The new body keeps the loop's state from one iteration to the next.
        program.send("c")
        assert program.next()["total"] == line["total"] + 100
        program.send("stop")
        after = program.next()
        # The variables the new body set are the function's own after the loop.
        assert after["after"] == line["total"] + 100 and after["command"] == "stop"
        assert after["history"][-1] == "c"
        assert program.proc.wait(timeout=TIMEOUT) == 0, program.stderr
        wait_stderr(program, "live loop runs its new body")
    finally:
        program.close()


def test_new_body_that_raises_is_reported_and_the_previous_one_runs(project):
    project.write("app.py", LOOP)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        program.send("a")
        assert program.next()["total"] == 1
        broken = LOOP.replace("total += 1", "total += 1 // (command != 'boom')")
        project.write("app.py", broken, how="atomic")
        # Wait until the new body runs (it works for other commands).
        deadline = time.monotonic() + TIMEOUT
        while "live loop runs its new body" not in program.stderr:
            assert time.monotonic() < deadline, program.stderr
            program.send("x")
            program.next()
            time.sleep(0.02)
        program.send("boom")
        line = program.next()
        # The previous body ran the same item, from the locals before the failed iteration.
        assert line["history"][-1] == "boom"
        assert line["history"].count("boom") == 1
        wait_stderr(program, "app.py:11: the live loop's new body raised ZeroDivisionError")
        program.send("stop")
        assert program.next()["after"] == line["total"]
    finally:
        program.close()


def test_new_body_with_return_is_refused_and_the_old_one_keeps_running(project):
    project.write("app.py", LOOP)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        program.send("a")
        assert program.next()["total"] == 1
        edited = LOOP.replace("            break\n", "            return\n")
        edited = edited.replace("total += 1", "total += 100")
        project.write("app.py", edited, how="atomic")
        deadline = time.monotonic() + TIMEOUT
        while "uses return" not in program.stderr:
            assert time.monotonic() < deadline, program.stderr
            program.send("b")
            assert program.next()["total"] < 100
            time.sleep(0.02)
        wait_stderr(program, "app.py:10: the live loop's new body uses return")
    finally:
        program.close()


def test_live_loop_in_the_main_block(project):
    source = """\
    import json, sys
    import hotswap

    if __name__ == "__main__":
        count = 0
        for line in hotswap.live_loop(sys.stdin):
            count += 1
            print(json.dumps({"count": count}), flush=True)
        print(json.dumps({"final": count}), flush=True)
    """
    project.write("app.py", source)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        program.send("a")
        assert program.next() == {"count": 1}
        project.write("app.py", source.replace("count += 1", "count += 10"), how="atomic")
        line = iterate_until_step(program, "b", "count", 10)
        program.proc.stdin.close()
        assert program.next() == {"final": line["count"]}
    finally:
        program.close()


def test_live_loop_without_hotswap_is_a_plain_loop(project):
    project.write(
        "app.py",
        """\
        import json, hotswap

        def f():
            seen = []
            for i in hotswap.live_loop(range(3)):
                seen.append(i)
            n = 0
            for _ in hotswap.live_loop():
                n += 1
                if n == 5:
                    break
            return seen, n

        print(json.dumps(f()))
        """,
    )
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=project.root, capture_output=True, text=True, timeout=30
    )
    assert json.loads(result.stdout) == [[0, 1, 2], 5], result.stderr


MAIN_LOOP = """\
import json, sys

def main():
    total = 0
    while True:
        command = sys.stdin.readline().strip()
        if command in ("", "stop"):
            break
        total += 1
        print(json.dumps({"total": total}), flush=True)
    print(json.dumps({"after": total}), flush=True)

if __name__ == "__main__":
    main()
"""


def test_cli_makes_the_scripts_while_true_loop_live(project):
    project.write("app.py", MAIN_LOOP)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        program.send("a")
        assert program.next() == {"total": 1}
        project.write("app.py", MAIN_LOOP.replace("total += 1", "total += 100"), how="atomic")
        line = iterate_until_step(program, "b", "total", 100)
        program.send("stop")
        assert program.next() == {"after": line["total"]}
        assert program.proc.wait(timeout=TIMEOUT) == 0, program.stderr
    finally:
        program.close()


def test_which_loops_the_cli_makes_live(project):
    project.write(
        "app.py",
        """\
        import json, sys

        def main():
            while True:
                break

        def leaves():
            while True:
                return  # a live body cannot return: left as it is

        while True:  # top level outside the main block: a reload would re-run it
            break

        print(json.dumps([
            "_live_while" in main.__code__.co_names,
            "_live_while" in leaves.__code__.co_names,
            "_live_while" in sys._getframe().f_code.co_names,
        ]))
        """,
    )
    project.write(
        "guarded.py",
        """        import json, sys

        if __name__ == "__main__":
            while True:
                break
            print(json.dumps("_live_while" in sys._getframe().f_code.co_names))
        """,
    )

    def run(*args):
        result = subprocess.run(
            hotswap_cli(*args), cwd=project.root, capture_output=True, text=True, timeout=30
        )
        return json.loads(result.stdout)

    assert run("app.py") == [True, False, False]
    assert run("guarded.py") is True
    assert run("--no-live-loops", "app.py") == [False, False, False]
    assert run("--no-live-loops", "guarded.py") is False


def test_closures_share_the_live_bodys_variables(project):
    source = """\
    import json, sys
    import hotswap

    def main():
        count = 0

        def peek():
            return count

        def bump():
            nonlocal count
            count += 1000

        for line in hotswap.live_loop(sys.stdin):
            seen = peek()
            if line.strip() == "bump":
                bump()
            else:
                count += 1
            print(json.dumps({"seen": seen, "count": count}), flush=True)

    main()
    """
    project.write("app.py", source)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        program.send("a")
        assert program.next() == {"seen": 0, "count": 1}
        project.write("app.py", source.replace("count += 1\n", "count += 10\n"), how="atomic")
        line = iterate_until_step(program, "b", "count", 10)
        # The closure sees what the new body set in the previous iteration...
        program.send("c")
        assert program.next() == {"seen": line["count"], "count": line["count"] + 10}
        # ... and the new body sees what a closure set, from the next iteration on (within the
        # iteration that called it, the body still reads its own copy).
        program.send("bump")
        assert program.next()["count"] == line["count"] + 10
        program.send("d")
        assert program.next() == {"seen": line["count"] + 1010, "count": line["count"] + 1020}
    finally:
        program.close()
