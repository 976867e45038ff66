"""Fixtures for behaviour tests: a project directory and a real program running on it."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
TIMEOUT = float(os.environ.get("HOTSWAP_TEST_TIMEOUT", "15"))


def pytest_configure(config):
    # A suite started as a background job inherits SIGINT ignored, and so would every program
    # it starts (exec keeps an ignored signal ignored): the Ctrl-C tests need it delivered.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class ProgramError(AssertionError):
    pass


class Program:
    """A subprocess running ``driver.py`` on a project directory."""

    def __init__(self, cwd: Path, argv: list, env: dict | None = None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.cwd = cwd
        self.stderr_path = cwd / ".stderr.log"
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=full_env,
        )
        self.output: list = []
        self._answers: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.hello = self._answer()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("@@HS "):
                self._answers.put(json.loads(line[5:]))
            else:
                self.output.append(line)
        self._answers.put(None)

    def _answer(self, timeout: float = TIMEOUT) -> dict:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise ProgramError(
                f"program did not answer in {timeout}s\nstderr:\n{self.stderr}"
            ) from None
        if answer is None:
            raise ProgramError(f"program exited ({self.proc.wait()})\nstderr:\n{self.stderr}")
        return answer

    @property
    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text()

    def call(self, op: str, timeout: float = TIMEOUT, **args) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        answer = self._answer(timeout)
        if not answer.get("ok"):
            raise ProgramError(
                f"{op} failed: {answer.get('error')}\n{answer.get('traceback', '')}"
                f"\nstderr:\n{self.stderr}"
            )
        return answer

    def exec(self, code: str, timeout: float = TIMEOUT) -> None:
        self.call("exec", timeout=timeout, code=textwrap.dedent(code))

    def eval(self, expr: str):
        return self.call("eval", expr=expr)["value"]

    def watch(self, *paths, debounce_ms=None) -> list:
        return self.call("watch", paths=[str(p) for p in paths], debounce_ms=debounce_ms)["roots"]

    def wait_reload(self, timeout: float = TIMEOUT) -> dict:
        return self.call("wait", timeout=timeout + 5, seconds=timeout)["report"]

    def reload(self, *paths) -> dict:
        return self.call("reload", paths=[str(self.cwd / p) for p in paths])["report"]

    def wait_until(self, expr: str, expected, timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.eval(expr)
            if value == expected:
                return value
            time.sleep(0.02)
        raise ProgramError(f"{expr} is {value!r}, expected {expected!r}\nstderr:\n{self.stderr}")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


class Project:
    """A temporary directory of Python files, written the way editors write them."""

    def __init__(self, root: Path):
        self.root = root
        self.programs: list = []
        shutil.copy(HERE / "driver.py", root / "driver.py")

    def path(self, name: str) -> Path:
        return self.root / name

    def write(self, name: str, text: str, how: str = "plain") -> Path:
        """Write ``text`` (dedented) to ``name``: plain, atomic (os.replace), vim, two-step."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = textwrap.dedent(text).encode()
        if how == "plain" or not path.exists():
            path.write_bytes(data)
        elif how == "atomic":
            tmp = path.with_name(path.name + ".tmp1234")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        elif how == "vim":
            backup = path.with_name(path.name + "~")
            os.rename(path, backup)
            path.write_bytes(data)
            os.remove(backup)
        elif how == "two-step":
            with open(path, "wb"):
                pass  # truncated and closed: a half-written file
            time.sleep(0.01)
            with open(path, "wb") as f:
                f.write(data)
        else:
            raise ValueError(how)
        return path

    def start(self, *, cli: bool = False, cli_args: tuple = (), env: dict | None = None) -> Program:
        if cli:
            argv = [sys.executable, "-m", "hotswap", *cli_args, "driver.py", "cli"]
        else:
            argv = [sys.executable, "driver.py", "api"]
        program = Program(self.root, argv, env)
        self.programs.append(program)
        return program


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    proj = Project(root)
    yield proj
    for program in proj.programs:
        program.close()


def run_cli(args: list, cwd: Path, timeout: float = 30, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m hotswap ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "hotswap", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
