"""``hotswap --test ... [--revert-on-fail] script.py``: tests of the changed code run after each
applied edit, in the program's process; a failing edit can be taken back."""

import io
import sys

import pytest

pexpect = pytest.importorskip("pexpect", reason="pexpect needs a POSIX pty")

PROGRAM = """\
import time

import calc

last = None
while True:
    seen = (calc.add(2, 3), getattr(calc, "LABEL", ""))
    if seen != last:
        print("program sees", *seen, flush=True)
        last = seen
    time.sleep(0.01)
"""
TESTS = "import calc\n\n\ndef test_add():\n    assert calc.add(2, 3) == 5\n"


def start(tmp_path, *options):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "other.py").write_text("X = 1\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(TESTS)
    (tmp_path / "prog.py").write_text("import other\n" + PROGRAM)
    transcript = io.StringIO()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "hotswap", "--test", "tests -p no:hypothesispytest", *options, "prog.py"],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    child.logfile_read = transcript
    child.expect("program sees 5")
    return child, transcript


def test_failing_edit_is_reverted_and_never_seen_by_the_program(tmp_path):
    child, transcript = start(tmp_path, "--revert-on-fail")
    broken = "def add(a, b):\n    return a - b\n"
    (tmp_path / "calc.py").write_text(broken)
    child.expect("hotswap: calc changed; running tests/test_calc.py")
    child.expect("1 failed")
    child.expect(
        "tests FAILED: the edit of calc is reverted in the running program "
        "\\(your file is unchanged; save again to retry\\)"
    )
    assert (tmp_path / "calc.py").read_text() == broken
    # A passing edit is applied and kept; the program resumes with it.
    (tmp_path / "calc.py").write_text('LABEL = "v2"\n\n\ndef add(a, b):\n    return b + a\n')
    child.expect("1 passed")
    child.expect("tests passed for calc")
    child.expect("program sees 5 v2")
    child.sendintr()
    child.expect(pexpect.EOF)
    # The program was paused while the tests ran: it never ran the failing version.
    assert "program sees -1" not in transcript.getvalue()


def test_without_revert_failures_are_reported_and_unrelated_edits_run_no_tests(tmp_path):
    child, transcript = start(tmp_path)
    (tmp_path / "other.py").write_text("X = 2\n")
    child.expect("hotswap: no tests import other")
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a * b\n")
    child.expect("1 failed")
    child.expect("tests FAILED for calc")
    child.expect("program sees 6")  # kept: no --revert-on-fail
    # Editing the tests applies too: a changed test and a new one run, asserts still explain.
    (tmp_path / "tests" / "test_calc.py").write_text(
        TESTS.replace("== 5", "== 6") + "\n\ndef test_new():\n    assert calc.add(1, 1) == 2\n"
    )
    child.expect("test_calc changed; running tests/test_calc.py")
    child.expect("assert 1 == 2")
    child.expect("1 failed.*1 passed")
    child.expect("tests FAILED for test_calc")
    child.sendintr()
    child.expect(pexpect.EOF)


def test_a_test_that_imports_relatively_runs_when_its_module_changes(tmp_path):
    (tmp_path / "app" / "tests").mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "app" / "tests" / "__init__.py").write_text("")
    (tmp_path / "app" / "tests" / "test_calc.py").write_text(
        TESTS.replace("import calc", "from .. import calc")
    )
    (tmp_path / "prog.py").write_text(PROGRAM.replace("import calc", "from app import calc"))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "hotswap", "--test", "app/tests -p no:hypothesispytest", "prog.py"],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    child.expect("program sees 5")
    (tmp_path / "app" / "calc.py").write_text("def add(a, b):\n    return a * b\n")
    child.expect("hotswap: app.calc changed; running app/tests/test_calc.py")
    child.expect("1 failed")
    child.expect("tests FAILED for app.calc")
    child.sendintr()
    child.expect(pexpect.EOF)


def test_revert_on_fail_needs_test(tmp_path):
    child = pexpect.spawn(
        sys.executable, ["-m", "hotswap", "--revert-on-fail", "x.py"], cwd=str(tmp_path)
    )
    child.expect("--revert-on-fail needs --test")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


def test_options_parse(tmp_path, monkeypatch):
    from hotswap.__main__ import parse_args

    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()  # -w takes an existing directory

    argv = ["--test", "tests -k 'a or b'", "--test=more", "--revert-on-fail", "s.py", "x"]
    opts = parse_args(argv)
    assert opts.test_args == ["tests", "-k", "a or b", "more"]
    assert opts.revert_on_fail and opts.script == "s.py" and opts.args == ["x"]
    assert "sync" not in opts.given
    opts = parse_args(["-w", "src", "--sync", "immediate", "--loop", "m:f", "-v", "a"])
    assert (opts.loop, opts.args, opts.watch) == ("m:f", ["-v", "a"], ["src"])
    assert "sync" in opts.given
