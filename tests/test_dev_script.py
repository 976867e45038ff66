"""`./dev` on a machine that lacks something: each missing prerequisite is named with how to get
it, before anything is built; missing Python versions are skipped (or required under CI=true);
an unknown command prints the usage and exits 2.

Each test runs a copy of `dev` in a temporary directory (like a user's clone: no ../shared
beside it) with a PATH made of symlinks to the few tools the script needs, plus fakes of
`cargo` and `cc` where a test wants them present. Nothing is built."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "dev"
SUPPORTED = ["3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]
THIS = "%d.%d" % sys.version_info[:2]
OTHER = next(v for v in SUPPORTED if v != THIS)  # a supported version the fake PATH lacks

# What `dev` runs before and while it checks prerequisites (never cargo, pip or maturin).
TOOLS = ["bash", "env", "dirname", "basename", "awk", "sed", "grep", "tr", "sort", "head"]
TOOLS += ["tail", "uname", "cat", "mkdir", "rm", "mktemp", "cp", "tee"]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="./dev is a bash script")


def fake_tool(bin_dir: Path, name: str, marker: Path | None = None) -> None:
    """An executable `name` that only records that it ran (when `marker` is given)."""
    path = bin_dir / name
    touch = f"echo {name} >> '{marker}'\n" if marker else ""
    path.write_text(f"#!/bin/sh\n{touch}exit 0\n")
    path.chmod(0o755)


@pytest.fixture
def clone(tmp_path):
    """A directory holding a copy of `dev`, an empty HOME and a bin directory for PATH."""
    repo = tmp_path / "clone"
    repo.mkdir()
    shutil.copy2(DEV, repo / "dev")
    (tmp_path / "home").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run this test"
        (bin_dir / tool).symlink_to(found)
    return tmp_path


def run_dev(root: Path, *args: str, ci: bool = False, pythons: str | None = None):
    env = {"PATH": str(root / "bin"), "HOME": str(root / "home"), "TERM": "dumb"}
    if ci:
        env["CI"] = "true"
    if pythons is not None:
        env["HOTSWAP_PYTHONS"] = pythons
    return subprocess.run(
        [str(root / "clone" / "dev"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def with_this_python(root: Path) -> None:
    """Puts the running interpreter on the fake PATH as pythonX.Y."""
    (root / "bin" / f"python{THIS}").symlink_to(os.path.realpath(sys.executable))


def assert_no_fallthrough(result) -> None:
    assert "Traceback" not in result.stderr
    assert "command not found" not in result.stderr
    assert "No such file" not in result.stderr


def test_unknown_command_prints_usage_to_stderr_and_exits_2():
    result = subprocess.run([str(DEV), "bogus"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown command: bogus" in result.stderr
    assert "./dev test" in result.stderr and "./dev wheels" in result.stderr


def test_help_prints_usage_and_exits_0():
    result = subprocess.run([str(DEV), "help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "./dev demo" in result.stdout and "./dev pythons" in result.stdout


def test_missing_cargo_is_named_with_rustup(clone):
    with_this_python(clone)
    fake_tool(clone / "bin", "cc")
    result = run_dev(clone, "demo")
    assert result.returncode == 1, result.stderr
    assert "cargo (Rust) not found" in result.stderr
    assert "https://sh.rustup.rs" in result.stderr
    assert_no_fallthrough(result)
    assert not (clone / "clone" / ".venvs").exists()


def test_missing_c_compiler_is_named(clone):
    with_this_python(clone)
    marker = clone / "ran"
    fake_tool(clone / "bin", "cargo", marker)
    result = run_dev(clone, "test")
    assert result.returncode == 1, result.stderr
    assert "no C compiler found" in result.stderr
    assert "build-essential" in result.stderr or "xcode-select --install" in result.stderr
    assert_no_fallthrough(result)
    assert not marker.exists(), "cargo ran although a prerequisite was missing"


def test_gcc_alone_is_enough_and_becomes_the_linker(clone):
    marker = clone / "ran"
    fake_tool(clone / "bin", "cargo", marker)
    fake_tool(clone / "bin", "gcc")
    result = run_dev(clone, "test", pythons="3.99")
    assert "no C compiler" not in result.stderr
    assert result.returncode == 1  # stops at the Pythons, checked next
    assert "none of the requested Pythons (3.99) is installed" in result.stderr


def test_missing_python_is_named_with_how_to_get_one(clone):
    fake_tool(clone / "bin", "cargo")
    fake_tool(clone / "bin", "cc")
    result = run_dev(clone, "demo")
    assert result.returncode == 1, result.stderr
    assert "no CPython 3.9 … 3.15 found" in result.stderr
    assert "pyenv install" in result.stderr and "uv python install" in result.stderr
    assert "python.org" in result.stderr
    assert_no_fallthrough(result)
    assert result.stderr.count("dev: error:") == 1, "the command went on after the error"


def test_test_without_any_requested_python_fails_before_building(clone):
    marker = clone / "ran"
    fake_tool(clone / "bin", "cargo", marker)
    fake_tool(clone / "bin", "cc")
    result = run_dev(clone, "test", pythons=OTHER)
    assert result.returncode == 1, result.stderr
    assert f"none of the requested Pythons ({OTHER}) is installed" in result.stderr
    assert_no_fallthrough(result)
    assert not marker.exists(), "cargo ran although no Python could be tested"


def test_pythons_uses_what_is_present_and_says_how_to_get_the_rest(clone):
    with_this_python(clone)
    result = run_dev(clone, "pythons", pythons=f"{THIS} {OTHER} 3.99")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["use", THIS]
    assert lines[0].split()[2] == str(clone / "bin" / f"python{THIS}")
    skipped = {line.split()[1]: line for line in lines if line.startswith("skip")}
    assert set(skipped) == {OTHER, "3.99"}
    assert f"pyenv install {OTHER}" in skipped[OTHER] or "3.15-dev" in skipped[OTHER]
    assert f"uv python install {OTHER}" in skipped[OTHER]
    assert "not a version hotswap supports" in skipped["3.99"]


def test_pythons_under_ci_requires_every_requested_version(clone):
    with_this_python(clone)
    result = run_dev(clone, "pythons", ci=True, pythons=f"{THIS} {OTHER}")
    assert result.returncode == 1
    assert f"CI=true requires every requested Python; missing: {OTHER}" in result.stderr
    ok = run_dev(clone, "pythons", ci=True, pythons=THIS)
    assert ok.returncode == 0, ok.stderr


def test_pythons_default_request_is_3_9_3_11_3_14(clone):
    result = run_dev(clone, "pythons", ci=True)
    assert result.returncode == 1
    assert "missing: 3.9 3.11 3.14" in result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["3.9", "3.11", "3.14"]


def test_a_python_of_another_version_under_the_name_is_not_used(clone):
    wrong = next(v for v in SUPPORTED if v != THIS and v != OTHER)
    (clone / "bin" / f"python{wrong}").symlink_to(os.path.realpath(sys.executable))
    result = run_dev(clone, "pythons", pythons=wrong)
    assert result.returncode == 1
    assert result.stdout.split()[:2] == ["skip", wrong]


def fake_venv(root: Path, version: str, maturin_body: str) -> Path:
    """A `.venvs/X.Y` whose python and maturin only log their arguments (maturin then runs
    `maturin_body`); returns the log."""
    log = root / "venv.log"
    bin_dir = root / "clone" / ".venvs" / version / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(f"#!/bin/sh\necho \"python $*\" >> '{log}'\nexit 0\n")
    (bin_dir / "maturin").write_text(f"#!/bin/sh\necho \"maturin $*\" >> '{log}'\n{maturin_body}\n")
    for tool in ("python", "maturin"):
        (bin_dir / tool).chmod(0o755)
    fake_tool(root / "bin", "cargo")
    fake_tool(root / "bin", "cc")
    return log


def test_failed_build_stops_and_leaves_no_older_hotswap(clone):
    log = fake_venv(clone, "3.11", "echo 'error: could not compile' >&2; exit 1")
    result = run_dev(clone, "setup", "3.11")
    assert result.returncode == 1
    assert "error: building hotswap failed (maturin/cargo, see above)" in result.stderr
    assert_no_fallthrough(result)
    assert result.stdout == ""
    steps = log.read_text().splitlines()
    uninstall = next(i for i, s in enumerate(steps) if "pip uninstall" in s and "hotswap" in s)
    build = next(i for i, s in enumerate(steps) if s.startswith("maturin build"))
    assert uninstall < build, steps
    assert not any(s.endswith(".whl") for s in steps), "something was installed after the failure"


def test_setup_installs_exactly_the_wheel_it_built(clone):
    # The fake maturin writes a wheel into the --out directory it is given.
    body = 'while [ "$1" != --out ]; do shift; done; : > "$2/hotswap-0.1.0-cp311-x.whl"'
    log = fake_venv(clone, "3.11", body)
    stale = clone / "clone" / "target" / "wheels" / "dev-3.11"
    stale.mkdir(parents=True)
    (stale / "hotswap-0.0.9-cp311-old.whl").touch()
    result = run_dev(clone, "setup", "3.11")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(clone / "clone" / ".venvs" / "3.11" / "bin" / "python")
    installs = [s for s in log.read_text().splitlines() if s.endswith(".whl")]
    assert len(installs) == 1 and installs[0].endswith("/dev-3.11/hotswap-0.1.0-cp311-x.whl")
    assert "import hotswap._core" in log.read_text()


def test_demo_runs_on_a_fresh_copy_and_leaves_the_examples_alone(clone):
    body = 'while [ "$1" != --out ]; do shift; done; : > "$2/hotswap-0.1.0-x.whl"'
    log = fake_venv(clone, THIS, body)
    with_this_python(clone)
    hotswap = clone / "clone" / ".venvs" / THIS / "bin" / "hotswap"
    hotswap.write_text(f"#!/bin/sh\necho \"hotswap $*\" >> '{log}'\n")
    hotswap.chmod(0o755)
    examples = clone / "clone" / "examples" / "demo"
    examples.mkdir(parents=True)
    (examples / "main.py").write_text("import greeting\n")
    (examples / "greeting.py").write_text("def greet(tick):\n    return 'Hello'\n")
    (clone / "clone" / "demo").mkdir()
    (clone / "clone" / "demo" / "greeting.py").write_text("edited by an earlier demo\n")
    result = run_dev(clone, "demo")
    assert result.returncode == 0, result.stderr
    assert "edit demo/greeting.py" in result.stderr
    ran = [s for s in log.read_text().splitlines() if s.startswith("hotswap ")]
    assert ran == [f"hotswap {clone / 'clone' / 'demo' / 'main.py'}"]
    original = "def greet(tick):\n    return 'Hello'\n"
    assert (examples / "greeting.py").read_text() == original
    assert (clone / "clone" / "demo" / "greeting.py").read_text() == original
