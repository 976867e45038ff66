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
        program.wait_stderr("live loop runs its new body")
    finally:
        program.close()


def test_new_body_that_raises_in_its_own_code_is_set_aside_once(project):
    project.write("app.py", LOOP)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        program.send("a")
        assert program.next()["total"] == 1
        # Raises on its first item, in its own code: reported, set aside, never tried again.
        project.write("app.py", LOOP.replace("total += 1", "total += 1 // 0"), how="atomic")
        deadline = time.monotonic() + TIMEOUT
        sent = ["a"]
        while "raised ZeroDivisionError" not in program.stderr or len(sent) < 4:
            assert time.monotonic() < deadline, program.stderr
            sent.append(f"c{len(sent)}")
            program.send(sent[-1])
            # The previous body ran the failed item, from the locals before it; each item once.
            assert program.next() == {"total": len(sent), "history": sent}
            time.sleep(0.05)
        program.wait_stderr("app.py:11: the live loop's new body raised ZeroDivisionError")
        assert program.stderr.count("raised ZeroDivisionError") == 1, program.stderr
        assert program.stderr.count("runs its new body") == 1, program.stderr
        assert "the previous body runs this item again" in program.stderr
        program.send("stop")
        assert program.next()["after"] == len(sent)
    finally:
        program.close()


# The loop calls a function of the file; each line on stdin is one item.
CALLS = """import json, sys

def update(command):
    print(json.dumps({"update": command}), flush=True)
    return len(command)

def main():
    calls = 0
    while True:
        command = sys.stdin.readline().strip()
        if command in ("", "stop"):
            break
        calls += 1
        print(json.dumps({"calls": calls, "size": update(command)}), flush=True)

if __name__ == "__main__":
    main()
"""


def send_until(program: Lines, command: str, key: str, value) -> None:
    """Sends ``command`` until an answer has ``key == value`` (the edit applied)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        program.send(command)
        answers = [program.next(), program.next()]
        if any(answer.get(key) == value for answer in answers):
            return
        assert time.monotonic() < deadline, f"{answers}\n{program.stderr}"
        time.sleep(0.02)


def test_only_an_edit_of_the_loop_itself_gives_it_a_new_body(project):
    project.write("app.py", CALLS)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        send_until(program, "abc", "size", 3)  # running the text it started with
        # Edits elsewhere in the file, one of them moving the loop down two lines.
        for factor, above in ((2, ""), (3, "A = 1\nB = 2\n"), (4, "A = 1\nB = 2\n")):
            edited = CALLS.replace("return len(command)", f"return len(command) * {factor}")
            project.write(
                "app.py", edited.replace("\ndef main", above + "\ndef main"), how="atomic"
            )
            send_until(program, "abc", "size", 3 * factor)
        assert "runs its new body" not in program.stderr, program.stderr
        edited = edited.replace("calls += 1", "calls += 100")
        project.write(
            "app.py", edited.replace("\ndef main", "A = 1\nB = 2\n\ndef main"), how="atomic"
        )
        deadline = time.monotonic() + TIMEOUT
        previous = None
        while True:  # until one item adds 100 calls: the new body ran
            program.send("x")
            calls = [program.next(), program.next()][1]["calls"]
            if previous is not None and calls - previous == 100:
                break
            previous = calls
            assert time.monotonic() < deadline, program.stderr
        program.wait_stderr("runs its new body")
        assert program.stderr.count("runs its new body") == 1, program.stderr
    finally:
        program.close()


def app_frames(stderr: str) -> list:
    """``(line, shown text, function)`` of each traceback entry of app.py."""
    lines = stderr.splitlines()
    frames = []
    for at, text in enumerate(lines):
        if text.strip().startswith('File "') and "app.py" in text:
            number = int(text.split("line ")[1].split(",")[0])
            frames.append((number, lines[at + 1].strip(), text.rsplit(" in ", 1)[1]))
    return frames


def test_a_function_the_loop_calls_that_starts_raising_runs_once(project):
    project.write("app.py", CALLS)
    program = Lines(hotswap_cli("app.py"), project.root)
    try:
        send_until(program, "abc", "size", 3)  # running the text it started with
        for factor in (2, 3, 4, 5):  # earlier saves of the file
            edited = CALLS.replace("return len(command)", f"return len(command) * {factor}")
            project.write("app.py", edited, how="atomic")
            send_until(program, "abc", "size", 3 * factor)
        raising = CALLS.replace("return len(command)", "raise ValueError(command)")
        project.write("app.py", raising, how="atomic")
        # The edit applies when the loop next runs: items go until update() raises.
        deadline = time.monotonic() + TIMEOUT
        while True:
            program.send("boom")
            assert program.next() == {"update": "boom"}
            try:
                assert "calls" in program.next()
            except AssertionError as exc:
                assert "exited" in str(exc)
                break  # update() raised, once, and the program ended as a plain run would
            assert time.monotonic() < deadline, program.stderr
        assert program.proc.wait(timeout=TIMEOUT) == 1
        stderr = program.stderr
        assert "previous body" not in stderr and "runs its new body" not in stderr, stderr
        assert stderr.count("Traceback") == 1 and "ValueError: boom" in stderr, stderr
        assert "_liveloop.py" not in stderr, stderr
        # Each frame shows the line it ran.
        source = raising.splitlines()
        frames = app_frames(stderr)
        assert [f[2] for f in frames] == ["<module>", "main", "update"], stderr
        for number, shown, _ in frames:
            assert shown == source[number - 1].strip(), stderr
    finally:
        program.close()


def test_a_loop_that_moved_shows_its_own_lines_in_tracebacks(project):
    source = CALLS.replace("calls += 1", "calls += 1 // (command != 'boom')")
    project.write("app.py", source)
    # -v: the loop says (at debug level) when it took its body at the new lines.
    program = Lines(hotswap_cli("-v", "app.py"), project.root)
    try:
        send_until(program, "abc", "size", 3)  # running the text it started with
        moved = source.replace("return len(command)", "return len(command) * 2")
        moved = moved.replace("\ndef main", "A = 1\nB = 2\nC = 3\n\ndef main")
        project.write("app.py", moved, how="atomic")
        send_until(program, "abc", "size", 6)
        # The loop looks at the start of an iteration, and the engine counts an applied edit
        # only once all of it is applied: items go on until the loop has taken the new lines.
        deadline = time.monotonic() + TIMEOUT
        while "live loop moved" not in program.stderr:
            assert time.monotonic() < deadline, program.stderr
            program.send("abc")
            assert [program.next(), program.next()][1]["size"] == 6
        program.send("boom")
        assert program.proc.wait(timeout=TIMEOUT) == 1
        # Each frame shows the line that ran: the module's code and main() still run the text
        # the script started with (lines since moved down by 3), the loop's body the new one.
        frames = app_frames(program.stderr)
        assert [(shown, function) for _, shown, function in frames] == [
            ("main()", "<module>"),
            ("while True:", "main"),
            ("calls += 1 // (command != 'boom')", "main"),
        ], program.stderr
        started, now = source.splitlines(), moved.splitlines()
        assert [started[n - 1].strip() for n, _, _ in frames[:2]] == ["main()", "while True:"]
        assert now[frames[2][0] - 1].strip() == frames[2][1]
        assert "runs its new body" not in program.stderr
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
        program.wait_stderr("app.py:10: the live loop's new body uses return")
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
