"""``hotswap --loop module:function`` in a real terminal (pexpect)."""

import sys

import pytest

pexpect = pytest.importorskip("pexpect", reason="pexpect needs a POSIX pty")


def spawn(cwd, *args):
    return pexpect.spawn(
        sys.executable,
        ["-m", "hotswap", *args],
        cwd=str(cwd),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )


def test_loop_calls_again_after_each_edit_and_shows_errors(tmp_path):
    (tmp_path / "app.py").write_text(
        "import helper\n\ndef main():\n    print('value', helper.value())\n    return 42\n"
    )
    (tmp_path / "helper.py").write_text("def value():\n    return 1\n")
    child = spawn(tmp_path, "--loop", "app:main")
    child.expect("app:main \\(run 1, start\\)")
    child.expect("value 1\r\n42\r\n")
    child.expect("waiting for an edit")
    (tmp_path / "helper.py").write_text("def value():\n    return 1 / 0\n")
    child.expect("run 2, updated helper.value")
    # The traceback starts in the user's code, not in hotswap's.
    child.expect('Traceback \\(most recent call last\\):\r\n  File ".*app.py", line 4, in main')
    child.expect('File ".*helper.py", line 2, in value')
    child.expect("ZeroDivisionError: division by zero")
    child.expect("waiting for an edit")
    (tmp_path / "app.py").write_text(
        "import helper\n\ndef main():\n    print('fixed')\n    return None\n"
    )
    child.expect("run 3, updated app.main")
    child.expect("fixed\r\n")
    child.expect("waiting for an edit")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_loop_needs_module_and_function(tmp_path):
    child = spawn(tmp_path, "--loop", "app")
    child.expect("--loop: expected module:function; got 'app'")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
