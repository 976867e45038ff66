"""Shared pieces of the benchmark suite: spawning measured programs, the line protocol they
speak, saving files, statistics and the markdown tables of RESULTS.md.

A measured program is a small script written into a temporary directory. It imports
``benches/child.py`` (on ``PYTHONPATH``), which starts the tool named by ``BENCH_TOOL`` and
prints protocol lines ``@@ key field...`` on stdout; anything else it prints is ignored.
"""

from __future__ import annotations

import math
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

BENCHES = Path(__file__).resolve().parent
TOOLS = ("hotswap", "jurigged", "ipython")
PYTHON = sys.executable


class BenchError(RuntimeError):
    """A measured program died, misbehaved or did not answer in time."""


# --- spawning ------------------------------------------------------------------------------

_live: set = set()


def child_env(tool: str, **extra: str) -> dict:
    env = dict(os.environ)
    env.update(BENCH_TOOL=tool, PYTHONPATH=str(BENCHES), PYTHONUNBUFFERED="1", **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class Child:
    """A measured program running in its own process group, read line by line."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: dict) -> None:
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            start_new_session=True,
        )
        _live.add(self)
        self.lines: queue.Queue = queue.Queue()
        self.glitches = 0  # values that were an exception: code caught half-reloaded
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                fields = line.split()[1:]
                self.glitches += fields[:1] == ["seen"] and fields[1].startswith("error:")
                self.lines.put(fields)
        self.lines.put(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def expect(self, key: str, timeout: float) -> Optional[list]:
        """The fields of the next ``@@ key`` line, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                fields = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if fields is None:
                self.lines.put(None)
                raise BenchError(f"program exited ({self.proc.wait()}): {self.stderr_tail()}")
            if fields[0] == key:
                return fields[1:]

    def wait_for(self, key: str, accept: Callable[[list], bool], timeout: float):
        """The first ``@@ key`` line accepted by ``accept`` within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            fields = self.expect(key, deadline - time.monotonic())
            if fields is None or accept(fields):
                return fields

    def need(self, key: str, timeout: float) -> list:
        fields = self.expect(key, timeout)
        if fields is None:
            raise BenchError(f"no '{key}' within {timeout:g} s: {self.stderr_tail()}")
        return fields

    def stderr_tail(self, chars: int = 600) -> str:
        self.err.flush()
        self.err.seek(0)
        text = self.err.read()[-chars:].strip()
        return " / ".join(text.splitlines()[-6:]) or "(no stderr)"

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=30)
            self.reader.join(timeout=5)
        finally:
            self.proc.stdout.close()
            self.err.close()
            _live.discard(self)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kill_all() -> None:
    for child in list(_live):
        child.close()


def run_to_exit(argv: Sequence[str], cwd: Path, env: dict, timeout: float) -> tuple:
    """Run a program to its end: (wall seconds, CPU seconds (user + system), peak RSS in MB).
    Raises BenchError if it fails or runs longer than ``timeout`` seconds."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            message = err.read().decode(errors="replace")[-400:]
            raise BenchError(f"{argv[1:]} exited {proc.returncode}: {message}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


# --- the measured side of an edit --------------------------------------------------------------


def save(path: Path, text: str, style: str = "plain") -> int:
    """Save like an editor does; returns CLOCK_MONOTONIC (ns) right after the save completed.

    ``plain`` rewrites the file in place; ``atomic`` writes a temporary file and renames it over
    the original (``os.replace``), like most editors' safe-save. A text of the same size as the
    file gets one more newline: CPython trusts a cached .pyc when the source's mtime (whole
    seconds) and size match, so a same-size edit within a second would make
    ``importlib.reload`` (IPython) run stale bytecode. Real edits rarely keep the size.
    """
    if path.exists() and path.stat().st_size == len(text.encode()):
        text += "\n"
    if style == "plain":
        with open(path, "w") as f:
            f.write(text)
    else:
        tmp = path.with_name(f".{path.name}.tmp-save")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return time.monotonic_ns()


@dataclass
class Edits:
    """Save-to-effect samples (ms) of a series of edits, the edits never seen, and the values
    that were an exception while an edit was being applied."""

    samples: list = field(default_factory=list)
    # the same edits timed from the start of the save: a reloader can act on the closing
    # event before the saving process reads the clock, which makes the samples above negative
    from_start: list = field(default_factory=list)
    attempted: int = 0
    lost: int = 0
    glitches: int = 0
    stopped: str = ""  # why a program gave up on this series, if it did

    def observe(self, child: Child, path: Path, text: str, accept, style="plain", timeout=2.0):
        """Save ``text``, wait for the program's ``@@ seen <value> <ns>`` that ``accept`` takes,
        and record the latency, or a loss after ``timeout`` seconds. Returns the fields."""
        self.attempted += 1
        glitches = child.glitches
        began = time.monotonic_ns()
        start = save(path, text, style)
        fields = child.wait_for("seen", accept, timeout)
        self.glitches += child.glitches - glitches
        if fields is None:
            self.lost += 1
        else:
            self.samples.append((int(fields[1]) - start) / 1e6)
            self.from_start.append((int(fields[1]) - began) / 1e6)
        return fields

    @classmethod
    def total(cls, parts) -> Edits:
        whole = cls()
        for part in parts:
            whole.samples += part.samples
            whole.from_start += part.from_start
            whole.attempted += part.attempted
            whole.lost += part.lost
            whole.glitches += part.glitches
            whole.stopped = whole.stopped or part.stopped
        return whole

    def notes(self, lost: str = "lost") -> str:
        if not self.attempted:
            return f"not attempted: {self.stopped}" if self.stopped else ""
        text = [f"{lost} {self.lost}/{self.attempted}"]
        if self.stopped:
            text.append(self.stopped)
        if self.glitches:
            text.append(f"the program got an exception {self.glitches} times (half-applied edit)")
        return "; ".join(text)


def value_is(version) -> Callable[[list], bool]:
    """Accept a ``seen`` report whose value (before any ``:``) is ``version``."""
    want = str(version)
    return lambda fields: fields[0].split(":")[0] == want


# --- repetitions, statistics, tables -------------------------------------------------------------


def interleave(reps: int, tools: Sequence[str] = TOOLS) -> Iterator[tuple]:
    """(repetition, tool) with the tools in a rotating order, so peers run side by side."""
    for rep in range(reps):
        k = rep % len(tools)
        for tool in (*tools[k:], *tools[:k]):
            yield rep, tool


def repeat(ctx: Context, label: str, reps: int, one, tools: Sequence[str] = TOOLS) -> tuple:
    """Run ``one(tool)`` ``reps`` times per tool, interleaved. Returns ({tool: [result]},
    {tool: [error]}): a program that fails is recorded, and the others go on."""
    results = {tool: [] for tool in tools}
    failures = {tool: [] for tool in tools}
    for rep, tool in interleave(reps, tools):
        ctx.log(f"{label} rep {rep + 1}/{reps} {tool}")
        try:
            results[tool].append(one(tool))
        except BenchError as exc:
            ctx.log(f"  {tool} failed: {exc}")
            failures[tool].append(str(exc))
        finally:
            kill_all()
    return results, failures


def failed(errors: Sequence[str]) -> str:
    if not errors:
        return ""
    return f"{len(errors)} program(s) failed, e.g. `{errors[0][-200:]}`"


def join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def p90(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def fmt(value: Optional[float]) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    return f"{value:,.{min(digits, 4)}f}"


@dataclass
class Row:
    tool: str
    samples: list
    notes: str = ""
    # (median, p90, n) of a row read back from an earlier RESULTS.md, whose samples are gone
    summary: Optional[tuple] = None

    @property
    def median(self) -> Optional[float]:
        if self.summary:
            return self.summary[0]
        return statistics.median(self.samples) if self.samples else None

    @property
    def ninetieth(self) -> Optional[float]:
        if self.summary:
            return self.summary[1]
        return p90(self.samples) if self.samples else None

    @property
    def count(self) -> int:
        return self.summary[2] if self.summary else len(self.samples)


@dataclass
class Table:
    """One markdown table: a metric per tool, with the ratio of each tool to the reference."""

    title: str
    unit: str
    rows: list = field(default_factory=list)
    reference: str = "hotswap"
    note: str = ""

    def add(self, tool: str, samples: Sequence[float], notes: str = "") -> None:
        self.rows.append(Row(tool, list(samples), notes))

    def markdown(self) -> str:
        ref = next((r.median for r in self.rows if r.tool == self.reference), None)
        lines = [
            f"**{self.title}** ({self.unit})" + (f" — {self.note}" if self.note else ""),
            "",
            f"| tool | median | p90 | ratio vs {self.reference} | n | notes |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for row in self.rows:
            med = row.median
            # a median at or below 0 (the tool acted before the save's clock read) has no ratio
            ratio = f"{med / ref:.2f}×" if med is not None and ref and ref > 0 < med else "—"
            lines.append(
                f"| {row.tool} | {fmt(med)} | {fmt(row.ninetieth)} | {ratio} | {row.count} "
                f"| {row.notes.replace('|', '/')} |"
            )
        return "\n".join(lines)


@dataclass
class Context:
    """What a measurement gets: the mode, a scratch directory and a progress printer."""

    quick: bool
    scratch: Path

    def project(self, name: str, files: dict) -> Path:
        """A fresh directory under the scratch directory holding ``files`` ({relative: text})."""
        root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch))
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root

    @staticmethod
    def drop(path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def log(message: str) -> None:
        print(f"  {time.strftime('%H:%M:%S')} {message}", flush=True)
