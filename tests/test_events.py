"""Editors: compiler-style messages (``--message-format compiler``) and the event stream
(``--events PATH|-``, ``watch(on_event=...)``), through real programs, real files and FIFOs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import TIMEOUT, run_cli

# The program: imports mod, shows each new value of mod.value() with its loop count, and ends
# when a file named "stop" appears. Each of its lines is one write: under PYTHONUNBUFFERED a
# print() writes its text and its newline apart, and with --events - an event can come between.
APP = """\
import os, sys, time
import mod

def main():
    count, shown = 0, None
    while not os.path.exists("stop"):
        count += 1
        value = mod.value()
        if value != shown or count % 20000 == 0:
            shown = value
            sys.stdout.write(f"value {value} count {count} time {time.monotonic()}\\n")
            sys.stdout.flush()
    sys.stdout.write("done\\n")

main()
"""

MOD = "def value():\n    return 1\n"


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


def wait_for(condition, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Lines:
    """Lines of a stream read by a thread; JSON events kept apart from other output."""

    def __init__(self, stream) -> None:
        self.events: list = []
        self.other: list = []
        self._done = threading.Event()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            if isinstance(line, bytes):
                line = line.decode()
            if line.startswith('{"schema":'):
                self.events.append(json.loads(line))
            else:
                self.other.append(line)
        self._done.set()

    def event(self, predicate, what: str, timeout: float = TIMEOUT) -> dict:
        try:
            return wait_for(
                lambda: next((e for e in self.events if predicate(e)), None), what, timeout
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; events: {self.events}; other: {self.other[-5:]}"
            ) from None

    def value(self, expected: int) -> None:
        wait_for(
            lambda: any(f"value {expected} " in line for line in self.other), f"value {expected}"
        )


def start(root: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "hotswap", *args, "app.py"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
    )


def finish(root: Path, proc: subprocess.Popen) -> int:
    """Ends the program; its exit status. (Its output pipes are read by the test's readers,
    if any: reading them here too would take lines from them.)"""
    (root / "stop").write_text("")
    try:
        return proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@pytest.fixture
def root(tmp_path):
    write(tmp_path / "app.py", APP)
    write(tmp_path / "mod.py", MOD)
    return tmp_path


def edit_and_check_stream(root: Path, lines: Lines, out: Lines) -> None:
    """The client's view while files are edited: started, watching, an applied batch, and a
    syntax error with path, line and column."""
    started = lines.event(lambda e: e["event"] == "started", "started")
    assert started["schema"] == 1 and started["python"] == sys.version.split()[0]
    assert "app.py" in started["argv"] and started["hotswap"]
    watching = lines.event(lambda e: e["event"] == "watching", "watching")
    assert watching["roots"] == [str(root.resolve())] and watching["pid"] == started["pid"]
    out.value(1)
    write(root / "mod.py", "def value():\n    return 2\n")
    batch = lines.event(lambda e: e["event"] == "batch" and e["updated"], "a batch")
    assert batch["updated"] == ["mod.value"] and batch["files"] == ["mod.py"]
    assert batch["errors"] == [] and batch["generation"] >= 1 and batch["duration_ms"] > 0
    out.value(2)
    write(root / "mod.py", "def value():\n    return 1 +\n")
    failed = lines.event(lambda e: e["event"] == "batch" and e["errors"], "a failed batch")
    [error] = failed["errors"]
    assert (error["path"], error["line"], error["column"]) == ("mod.py", 2, 15), error
    assert "Expected an expression" in error["message"]
    assert failed["generation"] > batch["generation"]


class FileEvents:
    """The events of a file another process appends to, read again on each look."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def events(self) -> list:
        text = self.path.read_text() if self.path.exists() else ""
        return [json.loads(line) for line in text.splitlines()]

    def event(self, predicate, what: str) -> dict:
        return wait_for(lambda: next((e for e in self.events if predicate(e)), None), what)


def test_event_stream_to_a_file(root):
    events = root / "events.jsonl"
    proc = start(root, "--events", str(events))
    out = Lines(proc.stdout)
    lines = FileEvents(events)
    edit_and_check_stream(root, lines, out)
    finish(root, proc)
    stopped = lines.event(lambda e: e["event"] == "stopped", "stopped")
    assert stopped["pid"] == proc.pid
    assert all("dropped" not in e for e in lines.events)


def test_event_stream_to_stdout(root):
    proc = start(root, "--events", "-")
    lines = Lines(proc.stdout)  # the program's own lines are kept apart in lines.other
    edit_and_check_stream(root, lines, lines)
    finish(root, proc)
    lines.event(lambda e: e["event"] == "stopped", "stopped")


_HELD_OPEN: list = []


def open_fifo_reader(path: Path):
    """The read end of the FIFO at ``path``, opened without waiting for a writer. A write end
    is held open here too, so reading waits for the program's lines instead of seeing the
    end of the stream while the program has not opened (or has closed) its end."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    _HELD_OPEN.append(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    os.set_blocking(fd, True)
    # Never closed: closing a file another thread is reading from would wait for that read.
    stream = os.fdopen(fd, "rb")
    _HELD_OPEN.append(stream)
    return stream


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_event_stream_to_a_fifo(root):
    fifo = root / "events.fifo"
    os.mkfifo(fifo)
    lines = Lines(open_fifo_reader(fifo))
    proc = start(root, "--events", str(fifo))
    out = Lines(proc.stdout)
    edit_and_check_stream(root, lines, out)
    finish(root, proc)
    lines.event(lambda e: e["event"] == "stopped", "stopped")


def loop_rate(out: Lines, seconds: float = 1.0) -> float:
    """Loop iterations per second of the program, from its lines over ``seconds``."""

    def sample():
        last = [line for line in out.other if line.startswith("value ")][-1].split()
        return int(last[3]), float(last[5])

    wait_for(lambda: len(out.other) >= 2, "the program's loop")
    count0, time0 = sample()
    wait_for(lambda: sample()[1] >= time0 + seconds, "loop progress")
    count1, time1 = sample()
    return (count1 - count0) / (time1 - time0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_nobody_reads_never_blocks(root):
    fifo = root / "events.fifo"
    os.mkfifo(fifo)
    proc = start(root, "--events", str(fifo))
    out = Lines(proc.stdout)
    out.value(1)  # start-up did not wait for a reader
    for value in (2, 3, 4):
        write(root / "mod.py", f"def value():\n    return {value}\n")
        out.value(value)
    assert loop_rate(out) > 0
    # A reader that comes later gets the next event, which counts what was lost before it.
    lines = Lines(open_fifo_reader(fifo))
    write(root / "mod.py", "def value():\n    return 5\n")
    out.value(5)
    first = lines.event(lambda e: True, "the first event a late reader sees")
    assert first["event"] == "batch" and first["updated"] == ["mod.value"]
    assert first["dropped"] >= 5  # started, watching and (at least) three batches
    assert first["dropped"] == 2 + first["generation"] - 1
    finish(root, proc)


@pytest.mark.skipif(sys.platform != "linux", reason="F_SETPIPE_SZ is Linux's")
def test_stalled_fifo_reader_drops_and_counts(root):
    """A reader that opened the FIFO and stopped reading: the program's loop keeps its speed,
    edits apply, and once the reader reads, every event is either written or counted."""
    fifo = root / "events.fifo"
    os.mkfifo(fifo)
    reader = open_fifo_reader(fifo)
    import fcntl

    fcntl.fcntl(reader.fileno(), 1031, 4096)  # F_SETPIPE_SZ: a pipe that fills after a few events
    proc = start(root, "--events", str(fifo))
    out = Lines(proc.stdout)
    out.value(1)
    before = loop_rate(out)
    edits = 90  # more than the pipe (4 KiB) and the queue (64 events) hold
    for value in range(2, 2 + edits):
        write(root / "mod.py", f"def value():\n    return {value}\n")
        out.value(value)
    during = loop_rate(out)
    assert during > before * 0.1, (before, during)
    lines = Lines(reader)
    # The writer drains its backlog first; an edit made meanwhile is dropped and counted. Edit
    # until one edit's own batch is written (value v is batch v - 1: one batch per save).
    last = 1 + edits
    deadline = time.monotonic() + TIMEOUT
    while True:
        last += 1
        write(root / "mod.py", f"def value():\n    return {last}\n")
        out.value(last)
        try:
            lines.event(
                lambda e, at=last - 1: e["event"] == "batch" and e["generation"] >= at,
                f"the batch of value {last}",
                timeout=1.0,
            )
            break
        except AssertionError:
            assert time.monotonic() < deadline, lines.events[-3:]
    finish(root, proc)
    lines.event(lambda e: e["event"] == "stopped", "stopped")
    written = len(lines.events)
    dropped = sum(e.get("dropped", 0) for e in lines.events)
    batches = max(e["generation"] for e in lines.events if e["event"] == "batch")
    assert dropped > 0 and batches >= last - 1
    assert written + dropped == 2 + batches + 1  # started, watching, every batch, stopped


def test_on_event_in_process(tmp_path):
    write(tmp_path / "mod.py", MOD)
    script = tmp_path / "prog.py"
    write(
        script,
        f"""\
        import json, os, sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        import hotswap, mod
        events = []
        watcher = hotswap.watch({str(tmp_path)!r}, on_event=events.append)
        print("ready", flush=True)
        deadline = time.monotonic() + {TIMEOUT}
        while mod.value() != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        watcher.stop()
        print(json.dumps(events), flush=True)
        """,
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    write(tmp_path / "mod.py", "def value():\n    return 2\n")
    events = json.loads(proc.stdout.readline())
    assert proc.wait(timeout=TIMEOUT) == 0
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["started", "watching"] and kinds[-1] == "stopped", kinds
    batch = next(e for e in events if e["event"] == "batch")
    assert set(batch) == {
        "schema", "event", "pid", "time", "generation", "files", "updated", "added", "deleted",
        "moved", "recreated", "errors", "rude", "notes", "duration_ms",
    }  # fmt: skip
    assert batch["updated"] == ["mod.value"] and batch["pid"] == proc.pid


WAITS = """\
import json, os, time
import mod

def wait_for_value(expected):
    while mod.value() != expected:
        time.sleep(0.01)

def wait_for_own_batch():
    # The event of a batch is sent after the batch is applied: a process that ends as soon as
    # it sees the new code could end before its event is written.
    while not any(json.loads(line)["pid"] == os.getpid() and json.loads(line)["event"] == "batch"
                  for line in open(os.environ["HOTSWAP_EVENTS"])):
        time.sleep(0.01)
"""

CHILDREN = """\
import os, subprocess, sys
from waits import wait_for_value, wait_for_own_batch

child = os.fork()
if child == 0:
    wait_for_value(2)
    wait_for_own_batch()
    os._exit(0)
spawned = subprocess.Popen([sys.executable, "-c", "from waits import *\\n"
                            "open('child-ready', 'w').close()\\n"
                            "wait_for_value(2)\\nwait_for_own_batch()"])
while not os.path.exists("child-ready"):  # it runs the old mod: the edit is news to it
    pass
print("ready", flush=True)
wait_for_value(2)
wait_for_own_batch()
os.waitpid(child, 0)
spawned.wait()
"""


def test_events_from_every_process(root):
    """A forked child and a Python child each apply the edit and write their own events: the
    pid field tells them apart."""
    write(root / "app.py", CHILDREN)
    write(root / "waits.py", WAITS)
    events = root / "events.jsonl"
    proc = start(root, "--events", str(events))
    assert proc.stdout.readline() == b"ready\n"

    def read():
        return [json.loads(line) for line in events.read_text().splitlines()]

    wait_for(lambda: len({e["pid"] for e in read() if e["event"] == "watching"}) == 3, "watching")
    write(root / "mod.tmp", "def value():\n    return 2\n")
    os.replace(root / "mod.tmp", root / "mod.py")  # one save: no process sees it half-written
    assert proc.wait(timeout=TIMEOUT) == 0, proc.stderr.read().decode()
    every = read()
    batches = {e["pid"]: e for e in every if e["event"] == "batch" and e["updated"]}
    assert len(batches) == 3
    assert all(b["updated"] == ["mod.value"] for b in batches.values())
    started = {e["pid"]: e for e in every if e["event"] == "started"}
    assert set(started) == set(batches) and proc.pid in started
    children = [e for e in started.values() if e["ppid"] == proc.pid]
    assert len(children) == 2


def test_compiler_style_messages(root):
    """Errors and rude edits on stderr as `path:line:col: error|warning: message`, with the
    column of the syntax error and of the definition."""
    proc = start(root, "--message-format", "compiler")
    out = Lines(proc.stdout)
    out.value(1)
    err = Lines(proc.stderr)

    def said(start: str) -> None:
        wait_for(lambda: any(line.startswith(start) for line in err.other), start)

    write(root / "mod.py", "def value():\n    return 1 +\n")
    said("mod.py:2:15: error: syntax error")
    source = """\
        class K:
            __slots__ = ("a",)
            def m(self, x=1):
                return x

        def value():
            return 2
        """
    write(root / "mod.py", source)
    out.value(2)
    write(root / "mod.py", source.replace("x=1", "x=1 // 0").replace("return 2", "return 3"))
    out.value(3)
    said("mod.py:3:5: error: K.m failed: ZeroDivisionError")
    write(root / "mod.py", source.replace('("a",)', '("a", "b")').replace("return 2", "return 4"))
    out.value(4)
    said("mod.py:1:1: warning: ")
    finish(root, proc)
    check_vim_errorformat(root, "".join(err.other))


# The errorformat the README gives for Vim's quickfix list.
VIM_EFM = r"%f:%l:%c:\ %t%*[a-z]:\ %m"


def check_vim_errorformat(root: Path, stderr: str) -> None:
    """Vim's quickfix list, read with the README's errorformat, holds the errors and warnings."""
    vim = shutil.which("vim")
    if vim is None:
        return
    (root / "stderr.txt").write_text(stderr)
    script = (
        "call writefile(map(filter(getqflist(), 'v:val.valid'), "
        "{i, e -> printf('%s|%d|%d|%s', bufname(e.bufnr), e.lnum, e.col, e.type)}), 'qf.txt')"
    )
    subprocess.run(
        [vim, "-u", "NONE", "-es", "-c", f"set efm={VIM_EFM}", "-c", "cfile stderr.txt",
         "-c", script, "-c", "qa!"],
        cwd=root, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    entries = (root / "qf.txt").read_text().splitlines()
    assert "mod.py|2|15|e" in entries and "mod.py|3|5|e" in entries, entries
    assert "mod.py|1|1|w" in entries, entries


def test_bad_values_are_one_line(tmp_path):
    write(tmp_path / "app.py", "pass\n")
    missing = tmp_path / "no" / "such" / "dir" / "events"
    result = run_cli(["--events", str(missing), "app.py"], cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr
        == f"hotswap: --events: cannot open {str(missing)!r}: No such file or directory\n"
    )
    result = run_cli(["--message-format", "json", "app.py"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "hotswap: --message-format: expected plain or compiler; got 'json'\n"
    env = dict(os.environ, HOTSWAP_MESSAGE_FORMAT="gnu")
    result = run_cli(["app.py"], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert (
        result.stderr == "hotswap: HOTSWAP_MESSAGE_FORMAT: expected plain or compiler; got 'gnu'\n"
    )


def test_restart_is_an_event(root):
    write(root / "mod.py", 'class K:\n    __slots__ = ("a",)\n\ndef value():\n    return 1\n')
    events = root / "events.jsonl"
    proc = start(root, "--events", str(events), "--on-rude", "restart")
    out = Lines(proc.stdout)
    out.value(1)
    write(root / "mod.py", 'class K:\n    __slots__ = ("a", "b")\n\ndef value():\n    return 2\n')
    out.value(2)

    def kinds():
        return [json.loads(line)["event"] for line in events.read_text().splitlines()]

    wait_for(lambda: kinds().count("watching") == 2, "watching again after the restart")
    finish(root, proc)
    assert kinds() == [
        "started",
        "watching",
        "batch",
        "restarted",
        "started",
        "watching",
        "stopped",
    ]
    restarted = [json.loads(line) for line in events.read_text().splitlines()][3]
    assert restarted["pid"] == proc.pid and "app.py" in restarted["argv"]


LOOP = """\
import os, time
def main():
    n = 0
    print("looping", flush=True)
    while True:
        n += 1
        if os.path.exists("stop"):
            break
        time.sleep(0.01)
main()
"""


def test_live_loop_messages_are_compiler_style(tmp_path):
    """The live loop's messages (from the Python layer) follow the format too."""
    write(tmp_path / "app.py", LOOP)
    env = dict(os.environ, HOTSWAP_MESSAGE_FORMAT="compiler")
    proc = start(tmp_path, env=env)
    err, out = Lines(proc.stderr), Lines(proc.stdout)
    wait_for(lambda: out.other == ["looping\n"], "the loop")
    write(tmp_path / "app.py", LOOP.replace("n += 1", "n += 1 // 0"))
    expected = "app.py:6:1: error: the live loop's new body raised ZeroDivisionError"
    wait_for(lambda: any(line.startswith(expected) for line in err.other), expected)
    assert finish(tmp_path, proc) == 0
