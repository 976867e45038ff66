"""The pytest plugin: ``pytest --reload-loop`` in a real terminal (pexpect), and its options."""

import sys

import pytest

pexpect = pytest.importorskip("pexpect", reason="pexpect needs a POSIX pty")
pytest_plugins = ["pytester"]

TIMEOUT = 20
# Faster start: plugins the tests do not need.
QUIET_PLUGINS = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:anyio"]

CALC = "def add(a, b):\n    return a - b\n"
TESTS = """
import pytest
import calc

SETUPS = []


@pytest.fixture(scope="session")
def db():
    SETUPS.append(1)
    return {"setups": len(SETUPS)}


@pytest.fixture
def two():
    return 2


def test_first():
    assert True


def test_add(db, two):
    print("output of the test")
    assert calc.add(two, 3) == 5
    assert db["setups"] == 1  # the session fixture was not set up again


def test_last():
    assert True
"""


def spawn(tmp_path, *args):
    (tmp_path / "calc.py").write_text(CALC)
    (tmp_path / "test_calc.py").write_text(TESTS)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "pytest", *QUIET_PLUGINS, *args],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=TIMEOUT,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin", "TERM": "dumb"},
        dimensions=(40, 200),
    )
    return child


def finish(child):
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_failure_waits_for_a_fix_then_reruns_and_continues(tmp_path):
    child = spawn(tmp_path, "--reload-loop", "test_calc.py")
    child.expect("test_calc.py::test_add failed \\(attempt 1\\)")
    child.expect("assert -1 == 5")
    child.expect("output of the test")  # the captured output is shown with the failure
    child.expect("save a fix under .* to run test_add again")
    (tmp_path / "calc.py").write_text("def add(a, b)\n    return a * b\n")
    child.expect("hotswap: failed: calc.py:1")  # a syntax error: still waiting
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a * b\n")
    child.expect("hotswap: updated calc.add")
    child.expect("test_calc.py::test_add failed \\(attempt 2\\)")
    child.expect("assert 6 == 5")
    child.expect("save a fix")
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    child.expect("running test_calc.py::test_add again \\(attempt 3\\)")
    child.expect("3 passed")
    assert finish(child) == 0


def test_editing_the_test_and_its_fixture_applies(tmp_path):
    child = spawn(tmp_path, "--reload-loop", "test_calc.py")
    child.expect("save a fix")
    text = TESTS.replace("assert calc.add(two, 3) == 5", "assert calc.add(two, 3) == -2")
    (tmp_path / "test_calc.py").write_text(text)
    child.expect("updated test_calc.test_add")
    child.expect("assert -1 == -2")  # the fixture still gives 2
    child.expect("save a fix")
    (tmp_path / "test_calc.py").write_text(text.replace("return 2", "return 1"))
    child.expect("updated test_calc.two")
    child.expect("3 passed")
    assert finish(child) == 0


def test_pdb_mode_applies_edits_while_in_pdb_and_c_reruns(tmp_path):
    child = spawn(tmp_path, "--reload-loop=pdb", "test_calc.py")
    child.expect("assert -1 == 5")
    child.expect("\\(Pdb\\) ")
    child.sendline("p calc.add(2, 3)")
    child.expect("-1\r\n")
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    child.expect("hotswap: updated calc.add")
    child.sendline("p calc.add(2, 3) * 10")
    child.expect("50\r\n")
    child.sendline("c")
    child.expect("running test_calc.py::test_add again \\(attempt 2\\)")
    child.expect("3 passed")
    assert finish(child) == 0


def test_pdb_q_gives_up(tmp_path):
    child = spawn(tmp_path, "--reload-loop=pdb", "test_calc.py")
    child.expect("\\(Pdb\\) ")
    child.sendline("q")
    child.expect("stopped from pdb")
    child.expect("1 failed, 1 passed")
    assert finish(child) == 2


def test_ctrl_c_while_waiting_stops_the_session(tmp_path):
    child = spawn(tmp_path, "--reload-loop", "test_calc.py")
    child.expect("save a fix")
    child.sendintr()
    child.expect("stopped by Ctrl-C")
    child.expect("1 failed, 1 passed")
    assert finish(child) == 2


def test_passing_session_is_unchanged_and_path_after_flag_is_kept(pytester):
    pytester.makepyfile(test_ok="def test_ok():\n    assert 1\n")
    result = pytester.runpytest_subprocess("--reload-loop", "test_ok.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["hotswap: --reload-loop watching *"])


def test_bad_mode_and_missing_dir_are_usage_errors(pytester):
    pytester.makepyfile(test_ok="def test_ok():\n    assert 1\n")
    result = pytester.runpytest_subprocess("--reload-loop=later")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--reload-loop takes no value or 'pdb', not 'later'*"])
    result = pytester.runpytest_subprocess("--reload-loop", "--reload-dir", "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--reload-dir *nowhere: no such directory*"])


def test_without_the_option_the_plugin_does_nothing(pytester):
    pytester.makepyfile(test_bad="def test_bad():\n    assert 0\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    assert "hotswap:" not in result.stdout.str()


def test_an_edited_test_function_is_updated_by_the_engine_with_pytest_asserts(project):
    """Edits of a module pytest rewrote go through the engine (its report names the function)
    compiled by pytest's rewriter: the failing ``assert`` still explains itself."""
    project.write("test_mod.py", "def test_add():\n    total = 1 + 1\n    assert total == 2\n")
    prog = project.start()
    prog.exec(
        """
        import os, sys, pytest
        from hotswap import _core
        from hotswap.pytest_plugin import compile_rewritten_modules_like_pytest

        pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:hotswap", "test_mod.py"])
        _core.record_loaded([os.getcwd()])
        rewritten = compile_rewritten_modules_like_pytest(None, [os.getcwd()])
        rewritten = [os.path.basename(path) for path in rewritten]
        """
    )
    assert prog.eval("rewritten") == ["test_mod.py"]
    project.write("test_mod.py", "def test_add():\n    total = 1 + 1\n    assert total == 3\n")
    report = prog.reload("test_mod.py")
    assert report["updated"] == ["test_mod.test_add"] and not report["errors"]
    prog.exec(
        """
        try:
            sys.modules["test_mod"].test_add()
        except AssertionError as exc:
            message = str(exc)
        """
    )
    assert "assert 2 == 3" in prog.eval("message")
