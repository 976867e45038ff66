"""Every process of a program gets the edits: forked children, multiprocessing pools (fork,
spawn, forkserver), Python started by subprocess; and ``hotswap attach`` on Python 3.14+."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest
from conftest import TIMEOUT

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX processes")

WORK_OLD = """\
def answer():
    return "old"
"""
WORK_NEW = """\
def answer():
    return "new"
"""

# Four pool workers answer each round: a barrier holds each task until all four run, so every
# round reaches every worker.
POOL_PROGRAM = """\
import json, os, sys, time
import multiprocessing as mp
import work

def init(barrier):
    global BARRIER
    BARRIER = barrier

def ask(_):
    BARRIER.wait(timeout=10)
    return os.getpid(), work.answer()

if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    barrier = ctx.Barrier(4)
    with ctx.Pool(4, initializer=init, initargs=(barrier,)) as pool:
        while True:
            answers = pool.map(ask, range(4), chunksize=1)
            print(json.dumps({"main": work.answer(), "workers": answers}), flush=True)
            if sys.stdin.readline().strip() != "again":
                break
"""

FORK_PROGRAM = """\
import json, os, sys, time
import hotswap
import work

watcher = hotswap.watch(".")
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        while work.answer() == "old":
            os.write(1, (json.dumps({"pid": os.getpid(), "answer": "old"}) + "\\n").encode())
            time.sleep(0.02)
        report = watcher.wait_for_reload(timeout=10)
        watcher.stop()  # the child's own watcher: stopping it must not wait for the parent's
        line = {"pid": os.getpid(), "answer": work.answer(), "updated": list(report.updated)}
        os.write(1, (json.dumps(line) + "\\n").encode())
        os._exit(0)
    children.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
print(json.dumps({"exit_codes": codes}), flush=True)
watcher.stop()
"""


class Lines:
    """A process whose stdout is read line by line (JSON lines; others are kept as text)."""

    def __init__(self, argv, cwd, env=None):
        full_env = dict(os.environ, PYTHONUNBUFFERED="1")
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
        )
        self.lines: queue.Queue = queue.Queue()
        self.err: list = []
        threading.Thread(target=self._read, daemon=True).start()
        self._err_reader = threading.Thread(
            target=lambda: self.err.extend(self.proc.stderr), daemon=True
        )
        self._err_reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                pass
        self.lines.put(None)

    def next(self, timeout=TIMEOUT) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output in {timeout}s; stderr:\n{self.stderr}") from None
        if line is None:
            raise AssertionError(f"exited ({self.proc.wait()}); stderr:\n{self.stderr}")
        return line

    def send(self, text: str) -> None:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    @property
    def stderr(self) -> str:
        """What stderr said so far; all of it once the process has exited."""
        if self.proc.poll() is not None:
            self._err_reader.join(timeout=TIMEOUT)
        return "".join(self.err)

    def wait_stderr(self, text: str, count: int = 1) -> None:
        """stderr is read by another thread, behind stdout: waits for ``text`` ``count`` times."""
        deadline = time.monotonic() + TIMEOUT
        while self.stderr.count(text) < count:
            assert time.monotonic() < deadline, self.stderr
            time.sleep(0.01)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def hotswap_cli(*args):
    return [sys.executable, "-m", "hotswap", *args]


def run_pool_round_trip(project, method, cli_args=()):
    project.write("work.py", WORK_OLD)
    project.write("main.py", POOL_PROGRAM)
    program = Lines(hotswap_cli(*cli_args, "main.py", method), project.root)
    try:
        first = program.next()
        pids = {pid for pid, _ in first["workers"]}
        assert len(pids) == 4, first
        assert first == {"main": "old", "workers": [[pid, "old"] for pid, _ in first["workers"]]}
        project.write("work.py", WORK_NEW, how="atomic")
        deadline = time.monotonic() + TIMEOUT
        while True:
            program.send("again")
            line = program.next()
            if line["main"] == "new" and all(answer == "new" for _, answer in line["workers"]):
                break
            assert time.monotonic() < deadline, f"{line}\n{program.stderr}"
            time.sleep(0.01)
        # The same four workers, not new ones.
        assert {pid for pid, _ in line["workers"]} == pids
        assert "Traceback" not in program.stderr, program.stderr
    finally:
        program.close()


def test_fork_pool_workers_get_the_edit(project):
    run_pool_round_trip(project, "fork")


def test_spawn_pool_workers_get_the_edit(project):
    run_pool_round_trip(project, "spawn")


def test_forkserver_pool_workers_get_the_edit(project):
    run_pool_round_trip(project, "forkserver")


def test_plain_fork_children_get_the_edit_and_can_stop(project):
    project.write("work.py", WORK_OLD)
    project.write("main.py", FORK_PROGRAM)
    program = Lines([sys.executable, "main.py"], project.root)
    try:
        seen = set()
        while len(seen) < 4:
            line = program.next()
            assert line["answer"] == "old", line
            seen.add(line["pid"])
        project.write("work.py", WORK_NEW, how="atomic")
        done = {}
        while len(done) < 4:
            line = program.next()
            if line.get("answer") == "new":
                done[line["pid"]] = line
        assert set(done) == seen
        assert all(line["updated"] == ["work.answer"] for line in done.values()), done
        while "exit_codes" not in line:
            line = program.next()
        assert line["exit_codes"] == [0, 0, 0, 0], program.stderr
        assert program.proc.wait(timeout=TIMEOUT) == 0
    finally:
        program.close()


def test_subprocess_python_child_is_live_under_the_cli(project):
    project.write("work.py", WORK_OLD)
    project.write(
        "child.py",
        """\
        import sys, work
        for line in sys.stdin:
            print(work.answer(), flush=True)
        """,
    )
    project.write(
        "main.py",
        """\
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "child.py"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        for line in sys.stdin:
            child.stdin.write("?\\n")
            child.stdin.flush()
            print('{"child": "%s"}' % child.stdout.readline().strip(), flush=True)
        """,
    )
    program = Lines(hotswap_cli("main.py"), project.root)
    try:
        program.send("?")
        assert program.next() == {"child": "old"}
        project.write("work.py", WORK_NEW, how="atomic")
        deadline = time.monotonic() + TIMEOUT
        while True:
            program.send("?")
            if program.next() == {"child": "new"}:
                break
            assert time.monotonic() < deadline, program.stderr
            time.sleep(0.02)
    finally:
        program.close()


def test_no_children_option_leaves_the_environment_alone(project):
    project.write(
        "main.py",
        """\
        import json, os
        print(json.dumps({"watch": os.environ.get("HOTSWAP_WATCH", "")}))
        """,
    )
    program = Lines(hotswap_cli("--no-children", "main.py"), project.root)
    try:
        assert program.next() == {"watch": ""}
    finally:
        program.close()
    program = Lines(hotswap_cli("main.py"), project.root)
    try:
        assert program.next() == {"watch": str(project.root.resolve())}
    finally:
        program.close()


def test_forking_while_edits_apply_never_deadlocks(project):
    """Forks race with reloads on the watcher thread: every child must run and exit."""
    project.write("work.py", WORK_OLD)
    project.write(
        "main.py",
        """\
        import os, sys, time
        import hotswap
        import work

        watcher = hotswap.watch(".")
        print("ready", flush=True)
        failures = 0
        for i in range(100):
            pid = os.fork()
            if pid == 0:
                # Goes through the engine's gate and records: inherited held, this would hang.
                hotswap.reload_paths(["work.py"])
                work.answer()
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            failures += os.waitstatus_to_exitcode(status) != 0
        print('{"failures": %d}' % failures, flush=True)
        watcher.stop()
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "main.py"],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        stop = time.monotonic() + 30
        i = 0
        while proc.poll() is None and time.monotonic() < stop:
            i += 1
            text = WORK_OLD.replace('"old"', f'"v{i}"')
            project.write("work.py", text, how="atomic")
            time.sleep(0.003)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert json.loads(out.strip().splitlines()[-1]) == {"failures": 0}, err
    assert proc.returncode == 0, err


ATTACH_TARGET = """\
import os, sys, time
import work
print(os.getpid(), flush=True)
while True:
    print(work.answer(), flush=True)
    time.sleep(0.02)
"""

needs_remote_exec = pytest.mark.skipif(
    not hasattr(sys, "remote_exec"), reason="sys.remote_exec needs Python 3.14+"
)


@needs_remote_exec
def test_attach_makes_a_running_program_live(project):
    project.write("work.py", WORK_OLD)
    project.write("target.py", ATTACH_TARGET)
    target = subprocess.Popen(
        [sys.executable, "target.py"],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pid = int(target.stdout.readline())
        assert target.stdout.readline().strip() == "old"
        attach = subprocess.run(
            hotswap_cli("attach", str(pid)),
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=TIMEOUT + 15,
        )
        if attach.returncode != 0 and "permission denied" in attach.stderr.lower():
            pytest.skip(f"this machine does not allow attaching: {attach.stderr.strip()}")
        assert attach.returncode == 0, attach.stderr
        assert f"attached to PID {pid}" in attach.stdout
        assert str(project.root.resolve()) in attach.stdout
        project.write("work.py", WORK_NEW, how="atomic")
        deadline = time.monotonic() + TIMEOUT
        while target.stdout.readline().strip() != "new":
            assert time.monotonic() < deadline
    finally:
        target.kill()
        target.wait()


@needs_remote_exec
def test_attach_reports_a_target_without_hotswap(project, tmp_path):
    # -I: isolated mode, so the target's sys.path has no hotswap (as in another environment).
    project.write("target.py", "import time\nwhile True:\n    time.sleep(0.01)\n")
    target = subprocess.Popen([sys.executable, "-I", "-S", "target.py"], cwd=project.root)
    try:
        time.sleep(0.3)
        result = subprocess.run(
            hotswap_cli("attach", str(target.pid)),
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if "permission denied" in result.stderr.lower():
            pytest.skip(f"this machine does not allow attaching: {result.stderr.strip()}")
        assert result.returncode == 1
        assert "cannot import hotswap" in result.stderr, result.stderr
        assert "Install hotswap in the target's environment" in result.stderr
    finally:
        target.kill()
        target.wait()


def test_attach_errors_are_clear(project):
    # A PID that is not running: the highest one the system would give, reserved.
    result = subprocess.run(
        hotswap_cli("attach", "4194304"),
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 1
    if hasattr(sys, "remote_exec"):
        assert "no process with PID 4194304" in result.stderr
    else:
        assert "needs Python 3.14 or newer" in result.stderr
    result = subprocess.run(
        hotswap_cli("attach"), cwd=project.root, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 2 and "give its PID" in result.stderr


def test_hotswap_watch_variable_makes_any_python_program_live(project):
    """What ``HOTSWAP_WATCH=. gunicorn ...`` relies on: no CLI, no import of hotswap."""
    project.write("work.py", WORK_OLD)
    project.write(
        "main.py",
        """\
        import json, sys
        import work
        for line in sys.stdin:
            print(json.dumps({"answer": work.answer(), "live": "hotswap" in sys.modules}))
            sys.stdout.flush()
        """,
    )
    program = Lines([sys.executable, "main.py"], project.root, env={"HOTSWAP_WATCH": "."})
    try:
        program.send("?")
        assert program.next() == {"answer": "old", "live": True}
        project.write("work.py", WORK_NEW, how="atomic")
        deadline = time.monotonic() + TIMEOUT
        while True:
            program.send("?")
            if program.next()["answer"] == "new":
                break
            assert time.monotonic() < deadline, program.stderr
            time.sleep(0.02)
    finally:
        program.close()
    program = Lines([sys.executable, "main.py"], project.root)
    try:
        program.send("?")
        assert program.next() == {"answer": "new", "live": False}
    finally:
        program.close()


def test_forked_child_keeps_the_manual_sync_mode(project):
    project.write("work.py", WORK_OLD)
    project.write(
        "main.py",
        """\
        import json, os, sys, time
        import hotswap
        import work

        watcher = hotswap.watch(".", sync="manual")
        pid = os.fork()
        if pid == 0:
            print(json.dumps({"child": work.answer()}), flush=True)
            deadline = time.monotonic() + 10
            while work.answer() == "old" and time.monotonic() < deadline:
                time.sleep(0.01)
                report = hotswap.poll()  # the edit waits for the child's own poll()
            print(json.dumps({"child": work.answer(), "updated": list(report.updated)}))
            sys.stdout.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        watcher.stop()
        """,
    )
    program = Lines([sys.executable, "main.py"], project.root)
    try:
        assert program.next() == {"child": "old"}
        project.write("work.py", WORK_NEW, how="atomic")
        assert program.next() == {"child": "new", "updated": ["work.answer"]}
        assert program.proc.wait(timeout=TIMEOUT) == 0
    finally:
        program.close()
