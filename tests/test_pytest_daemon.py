"""``pytest --hotswap-daemon``: a warm pytest process that hotswap keeps current.

The oracle: on a sample project (a package, tests, a conftest fixture, a parametrize list),
random edit sequences; after each edit the per-test outcomes of the daemon run equal those of a
fresh ``python -m pytest`` run. The other tests drive the daemon's rules one by one (restarts,
the terminal, Ctrl-C, two clients, stopping, stale sockets, idle and memory limits).
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

TIMEOUT = 90
# Plugins of the test environment that these runs do not need (faster start).
NO_PLUGINS = ["-p", "no:hypothesispytest", "-p", "no:anyio"]
OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+)", re.M)


def outcomes(output: str) -> dict:
    """nodeid -> outcome, from the short test summary of ``-rA``."""
    return {nodeid: outcome for outcome, nodeid in OUTCOME.findall(output)}


class Sample:
    """A project directory and the commands that run pytest on it, plain or in the daemon."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # A short private base (a Unix socket path has at most 107 bytes).
        self.run_dir = tempfile.mkdtemp(prefix="hs-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        self.env.update(XDG_RUNTIME_DIR=self.run_dir, PYTHONDONTWRITEBYTECODE="1", TERM="dumb")

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    def pytest(self, *args, env=None, timeout=TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pytest", *NO_PLUGINS, *args],
            cwd=self.root,
            env=dict(self.env, **(env or {})),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def daemon(self, *args, **kwargs) -> subprocess.CompletedProcess:
        return self.pytest("--hotswap-daemon", "--hotswap-daemon-idle=3", *args, **kwargs)

    def sockets(self) -> list:
        folder = Path(self.run_dir, f"hotswap-pytest-{os.getuid()}")
        return sorted(folder.glob("*.sock")) if folder.exists() else []

    def close(self) -> None:
        self.pytest("--hotswap-daemon-stop", timeout=30)
        shutil.rmtree(self.run_dir, ignore_errors=True)


@pytest.fixture
def sample(tmp_path):
    project = Sample(tmp_path / "proj")
    project.write("pytest.ini", "[pytest]\n")
    project.write("pkg/__init__.py", "")
    project.write(
        "pkg/calc.py",
        """
        def add(a, b):
            return a + b
        """,
    )
    project.write(
        "tests/test_calc.py",
        """
        import pytest
        from pkg import calc

        @pytest.mark.parametrize("x", [1, 2])
        def test_add(x):
            assert calc.add(x, 1) == x + 1

        def test_fails_on_purpose():
            assert calc.add(2, 2) == 5
        """,
    )
    yield project
    project.close()


# -- the oracle ------------------------------------------------------------------------------


class EditedProject:
    """The sample project of the oracle, written from a few values that edits change."""

    def __init__(self, sample: Sample) -> None:
        self.sample = sample
        self.state = {
            "scale": 2,
            "area": "w * h * SCALE",
            "perimeter": 2,
            "slots": '("w",)',
            "broken": False,
            "width": 3,
            "hs": [1, 2, 3],
            "expected": 8,
            "extra": {},
        }
        self.counter = 0
        self.write_all()

    def write_all(self) -> None:
        s = self.state
        broken = "\ndef broken(:\n    pass\n" if s["broken"] else ""
        self.sample.write("pytest.ini", "[pytest]\n")
        self.sample.write("pkg/__init__.py", "")
        self.sample.write(
            "pkg/shapes.py",
            f"SCALE = {s['scale']}\n\n\ndef area(w, h):\n    return {s['area']}\n\n\n"
            f"def perimeter(w, h):\n    return {s['perimeter']} * (w + h)\n\n\n"
            f"class Box:\n    __slots__ = {s['slots']}\n{broken}",
        )
        self.sample.write(
            "tests/conftest.py",
            f"import pytest\n\n\n@pytest.fixture\ndef width():\n    return {s['width']}\n",
        )
        self.sample.write(
            "tests/test_shapes.py",
            "import pytest\nfrom pkg import shapes\n\n\n"
            f"@pytest.mark.parametrize('h', {s['hs']!r})\n"
            "def test_area(width, h):\n    assert shapes.area(width, h) == width * h * 2\n\n\n"
            "def test_perimeter(width):\n"
            f"    assert shapes.perimeter(width, 1) == {s['expected']}\n"
            "\n\ndef test_box():\n    assert len(shapes.Box.__slots__) == 1\n",
        )
        for name, expected in s["extra"].items():
            self.sample.write(
                f"tests/{name}.py",
                "from pkg import shapes\n\n\n"
                f"def test_extra():\n    assert shapes.perimeter(1, 1) == {expected}\n",
            )

    def edit(self, rng: random.Random) -> str:
        """One random edit (written to disk); returns what it was."""
        s = self.state
        kind = rng.choice(
            ["scale", "area", "perimeter", "fixture", "params", "test", "add", "delete"] * 3
            + ["slots", "broken"] * 2
        )
        if kind == "scale":
            s["scale"] = rng.choice([1, 2, 3])
        elif kind == "area":
            s["area"] = rng.choice(["w * h * SCALE", "w * h * SCALE + 1", "h * w * 2"])
        elif kind == "perimeter":
            s["perimeter"] = rng.choice([1, 2, 3])
        elif kind == "fixture":
            s["width"] = rng.choice([2, 3, 4])
        elif kind == "params":
            s["hs"] = sorted(rng.sample(range(6), rng.randint(1, 4)))
        elif kind == "test":
            s["expected"] = rng.choice([4, 6, 8, 10])
        elif kind == "slots":
            s["slots"] = '("w", "h")' if s["slots"] == '("w",)' else '("w",)'
        elif kind == "broken":
            s["broken"] = not s["broken"]
        elif kind == "add" or not s["extra"]:
            self.counter += 1
            s["extra"][f"test_extra_{self.counter}"] = rng.choice([2, 4, 6])
            kind = "add"
        else:
            name = rng.choice(sorted(s["extra"]))
            del s["extra"][name]
            (self.sample.root / "tests" / f"{name}.py").unlink()
        self.write_all()
        return kind


def test_oracle_daemon_outcomes_equal_a_fresh_run_after_random_edits(tmp_path, capsys):
    sample = Sample(tmp_path / "oracle")
    project = EditedProject(sample)
    edits, restarts, kinds = 0, 0, []
    try:
        first = sample.daemon("-rA", "tests")
        assert "started the pytest daemon" in first.stderr, first.stderr
        for seed in (1, 2, 3, 4):
            rng = random.Random(seed)
            for _ in range(6):
                kinds.append(project.edit(rng))
                edits += 1
                warm = sample.daemon("-rA", "tests")
                fresh = sample.pytest("-rA", "tests")
                restarts += "restarting the pytest daemon" in warm.stderr
                context = f"after edits {kinds} (seed {seed})\n{warm.stdout}\n{warm.stderr}"
                assert outcomes(warm.stdout) == outcomes(fresh.stdout), context
                assert outcomes(fresh.stdout), fresh.stdout  # the comparison is not empty
                assert warm.returncode == fresh.returncode, context
    finally:
        sample.close()
    with capsys.disabled():
        print(f"\noracle: {edits} edits ({', '.join(kinds)}), {restarts} restarts: all equal")
    assert restarts > 0 and {"broken", "slots", "fixture", "add", "delete"} <= set(kinds)


# -- the daemon's rules ----------------------------------------------------------------------


def test_saves_apply_live_and_x_k_lf_and_the_exit_code_behave_as_in_a_plain_run(sample):
    first = sample.daemon("-rA", "tests")
    assert "started the pytest daemon" in first.stderr
    assert first.returncode == 1
    assert outcomes(first.stdout)["tests/test_calc.py::test_fails_on_purpose"] == "FAILED"
    sample.write("pkg/calc.py", "def add(a, b):\n    return a + b + (a == b == 2)\n")
    warm = sample.daemon("-rA", "tests")
    assert "hotswap: updated pkg.calc.add" in warm.stderr, warm.stderr
    assert "started" not in warm.stderr, warm.stderr
    assert warm.returncode == 0, warm.stdout
    assert set(outcomes(warm.stdout).values()) == {"PASSED"}
    sample.write("pkg/calc.py", "def add(a, b):\n    return a * b\n")
    stopped = sample.daemon("-x", "tests")
    assert "stopping after 1 failures" in stopped.stdout, stopped.stdout + stopped.stderr
    assert stopped.returncode == 1
    selected = sample.daemon("-k", "fails", "tests")
    assert "1 failed, 2 deselected" in selected.stdout, selected.stdout
    sample.write("pkg/calc.py", "def add(a, b):\n    return a + b\n")
    again = sample.daemon("--lf", "-rA", "tests")  # the two that failed last: one passes now
    assert "run-last-failure" in again.stdout, again.stdout
    assert outcomes(again.stdout) == {
        "tests/test_calc.py::test_add[1]": "PASSED",
        "tests/test_calc.py::test_fails_on_purpose": "FAILED",
    }, again.stdout
    assert "started" not in again.stderr + selected.stderr + stopped.stderr, (
        again.stderr + selected.stderr + stopped.stderr
    )


def test_what_cannot_be_applied_in_place_restarts_the_daemon_and_says_why(sample):
    sample.daemon("tests")
    sample.write("pytest.ini", "[pytest]\nmarkers = slow\n")
    ini = sample.daemon("tests")
    assert "restarting the pytest daemon: pytest.ini changed" in ini.stderr, ini.stderr
    assert "started the pytest daemon" in ini.stderr
    env = sample.daemon("tests", env={"SAMPLE_SETTING": "1"})
    assert "environment variable SAMPLE_SETTING changed" in env.stderr, env.stderr
    terminal = sample.daemon("tests", env={"SAMPLE_SETTING": "1", "COLUMNS": "99"})
    assert "restarting" not in terminal.stderr, terminal.stderr
    sample.write("pkg/calc.py", "def add(a, b):\n    return a +\n")
    broken = sample.daemon("-rA", "tests", env={"SAMPLE_SETTING": "1"})
    assert "restarting the pytest daemon: failed: " in broken.stderr, broken.stderr
    assert "ERROR tests/test_calc.py" in broken.stdout and broken.returncode == 2


def test_colours_and_width_are_the_client_terminals_and_ctrl_c_stops_the_test(sample):
    pexpect = pytest.importorskip("pexpect", reason="pexpect needs a POSIX pty")
    sample.write(
        "tests/test_slow.py",
        "import time\n\n\ndef test_slow():\n    print('RUNNING', flush=True)\n"
        "    time.sleep(120)\n",
    )
    piped = sample.daemon("-k", "add", "tests")
    assert "\x1b[" not in piped.stdout and piped.returncode == 0
    argv = ["-m", "pytest", *NO_PLUGINS, "--hotswap-daemon", "-s", "tests"]
    child = pexpect.spawn(
        sys.executable,
        argv,
        cwd=str(sample.root),
        env=dict(sample.env, TERM="xterm"),
        encoding="utf-8",
        timeout=60,
        dimensions=(30, 123),
    )
    seen = io.StringIO()
    child.logfile_read = seen
    child.expect("RUNNING")
    started = time.monotonic()
    child.sendintr()
    child.expect("KeyboardInterrupt")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2 and time.monotonic() - started < 30
    output = seen.getvalue()
    assert "\x1b[" in output  # colours: the client is a terminal
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert any(len(line.rstrip()) == 123 for line in plain.splitlines() if "===" in line), plain
    after = sample.daemon("-k", "add", "tests")  # the daemon goes on serving
    assert after.returncode == 0 and "started" not in after.stderr, after.stderr


def _wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_second_client_waits_its_turn_and_is_told(sample):
    sample.write(
        "tests/test_gate.py",
        "import os, time\n\n\ndef test_gate():\n    open('running', 'w').close()\n"
        "    while not os.path.exists('go'):\n        time.sleep(0.02)\n",
    )
    sample.daemon("-k", "add", "tests")  # started
    command = [sys.executable, "-m", "pytest", *NO_PLUGINS, "--hotswap-daemon"]
    first_err = open(sample.root / "first.err", "w+")
    second_err = open(sample.root / "second.err", "w+")
    first = subprocess.Popen(
        [*command, "-k", "gate", "tests"], cwd=sample.root, env=sample.env,
        stdout=subprocess.PIPE, stderr=first_err, text=True,
    )  # fmt: skip
    _wait_for(lambda: (sample.root / "running").exists(), "the first run's test")
    second = subprocess.Popen(
        [*command, "-k", "add", "tests"], cwd=sample.root, env=sample.env,
        stdout=subprocess.PIPE, stderr=second_err, text=True,
    )  # fmt: skip
    _wait_for(lambda: "waits its turn" in (sample.root / "second.err").read_text(), "the notice")
    assert second.poll() is None
    (sample.root / "go").touch()
    assert first.wait(timeout=60) == 0 and "1 passed" in first.stdout.read()
    assert second.wait(timeout=60) == 0 and "2 passed" in second.stdout.read()
    first_err.close()
    second_err.close()


def test_stop_stale_socket_and_a_directory_that_is_not_private(sample):
    sample.daemon("tests")
    [sock] = sample.sockets()
    stopped = sample.pytest("--hotswap-daemon-stop")
    assert "stopped the pytest daemon (pid " in stopped.stderr and stopped.returncode == 0
    _wait_for(lambda: not sock.exists(), "the socket to go")
    assert "no pytest daemon runs" in sample.pytest("--hotswap-daemon-stop").stderr
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock))  # a socket file nobody listens on: a daemon that died
    dead.close()
    revived = sample.daemon("-k", "add", "tests")
    assert "started the pytest daemon" in revived.stderr and revived.returncode == 0
    sample.close()
    folder = Path(sample.run_dir, f"hotswap-pytest-{os.getuid()}")
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    public = sample.daemon("-k", "add", "tests")
    assert "is not a private directory" in public.stderr, public.stderr
    assert "running plain pytest" in public.stderr and "2 passed" in public.stdout
    assert not sample.sockets()


def test_idle_timeout_and_memory_growth_end_the_daemon(sample):
    sample.daemon("--hotswap-daemon-idle=0.02", "-k", "add", "tests")
    [sock] = sample.sockets()
    _wait_for(lambda: not sock.exists(), "the idle daemon to end")
    sample.write("pkg/hoard.py", "KEPT = []\n")
    sample.write(
        "tests/test_hoard.py",
        "from pkg import hoard\n\n\ndef test_hoard():\n    hoard.KEPT.append(b'x' * 40_000_000)\n",
    )
    first = sample.daemon("--hotswap-daemon-max-growth=20", "-k", "hoard", "tests")
    assert "started" in first.stderr and first.returncode == 0, first.stderr
    second = sample.daemon("-k", "hoard", "tests")
    assert re.search(r"grew from \d+ MB to \d+ MB \(limit: \+20 MB\)", second.stderr), second
    assert second.returncode == 0
    third = sample.daemon("-k", "hoard", "tests")
    assert "started the pytest daemon" in third.stderr and third.returncode == 0


def test_xdist_falls_back_to_a_plain_run_and_addopts_turn_the_daemon_on(sample):
    xdist = sample.daemon("-n", "2", "tests")
    assert "hotswap: -n (pytest-xdist) starts worker processes: running plain pytest" in (
        xdist.stderr
    )
    assert not sample.sockets()
    sample.write("pytest.ini", "[pytest]\naddopts = --hotswap-daemon\n")
    first = sample.pytest("-q", "-k", "add", "tests")
    assert "started the pytest daemon" in first.stderr and "2 passed" in first.stdout
    second = sample.pytest("-q", "-k", "add", "tests")
    assert "started" not in second.stderr and "2 passed" in second.stdout, second.stderr


def test_pdb_reads_the_client_terminal(sample):
    pexpect = pytest.importorskip("pexpect", reason="pexpect needs a POSIX pty")
    argv = ["-m", "pytest", *NO_PLUGINS, "--hotswap-daemon", "--pdb", "-k", "fails", "tests"]
    child = pexpect.spawn(
        sys.executable, argv, cwd=str(sample.root), env=sample.env, encoding="utf-8", timeout=60
    )
    child.expect(r"\(Pdb\) ")
    child.sendline("p calc.add(20, 22)")
    child.expect("42")
    child.sendline("c")
    child.expect("1 failed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_hotswap_pytest_hands_runs_to_the_daemon_without_importing_pytest(sample):
    def fast(*args):
        return subprocess.run(
            [sys.executable, "-m", "hotswap", "pytest", *NO_PLUGINS, *args],
            cwd=sample.root, env=sample.env, capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip

    first = fast("-k", "add", "tests")  # no daemon yet: the long way starts one
    assert "started the pytest daemon" in first.stderr and "2 passed" in first.stdout
    sample.write("pkg/calc.py", "def add(a, b):\n    return a + b + 1\n")
    warm = fast("-rA", "tests")
    assert "hotswap: updated pkg.calc.add" in warm.stderr and "started" not in warm.stderr
    assert outcomes(warm.stdout) == {
        "tests/test_calc.py::test_add[1]": "FAILED",
        "tests/test_calc.py::test_add[2]": "FAILED",
        "tests/test_calc.py::test_fails_on_purpose": "PASSED",
    }
    assert warm.returncode == 1
    sample.write("pytest.ini", "[pytest]\naddopts = -n 2\n")  # read by the daemon, not here
    cold = fast("tests")  # the daemon declines; the long way reads addopts and runs plain
    assert "-n (pytest-xdist) starts worker processes: running plain pytest" in cold.stderr
    sample.write("pytest.ini", "[pytest]\n")
    again = fast("-k", "fails", "tests")  # the same daemon serves again
    assert "1 passed, 2 deselected" in again.stdout and not again.stderr, again
    sample.write("sub/pytest.ini", "[pytest]\n")  # a project of its own inside this one
    sample.write("sub/test_sub.py", "def test_sub():\n    pass\n")
    in_sub = [sys.executable, "-m", "hotswap", "pytest", *NO_PLUGINS, "-q"]
    try:
        nested = subprocess.run(
            in_sub, cwd=sample.root / "sub", env=sample.env, capture_output=True, text=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        assert "1 passed" in nested.stdout, nested
        assert "started the pytest daemon" in nested.stderr, nested
        assert len(sample.sockets()) == 2, sample.sockets()
    finally:
        subprocess.run(
            [*in_sub, "--hotswap-daemon-stop"], cwd=sample.root / "sub", env=sample.env,
            capture_output=True, timeout=TIMEOUT,
        )  # fmt: skip
