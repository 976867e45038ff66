"""The live prompt (``hotswap`` with no arguments) in a real terminal: live modules, tab
completion and readline history as in the normal REPL."""

import os
import sys
import time

import pytest

pexpect = pytest.importorskip("pexpect", reason="pexpect needs a POSIX pty")
pytest.importorskip("readline", reason="no readline on this platform")

UP = "\x1b[A"
LEFT = "\x1b[D"


def spawn(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON_HISTORY", "PYTHONSTARTUP")}
    (tmp_path / "startup.py").write_text("STARTED = 'yes'\n")
    env.update(HOME=str(tmp_path), TERM="xterm", PYTHONSTARTUP=str(tmp_path / "startup.py"))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "hotswap"],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    child.expect("hotswap live prompt")
    child.expect(">>> ")
    return child


def run(child, line, expected):
    child.sendline(line)
    child.expect(expected)
    child.expect(">>> ")


def test_prompt_is_live_with_completion_and_history(tmp_path):
    (tmp_path / "shapes.py").write_text("def describe_shape(unit):\n    return 'old ' + unit\n")
    child = spawn(tmp_path)
    run(child, "STARTED", "'yes'")  # PYTHONSTARTUP ran, as in the normal prompt
    run(child, "import shapes", "import shapes")
    # Tab completes the attribute, as in the normal REPL.
    child.send("shapes.desc\t")
    child.expect("shapes.describe_shape\\(")
    child.sendline("'cm')")
    child.expect("'old cm'")
    child.expect(">>> ")
    (tmp_path / "shapes.py").write_text("def describe_shape(unit):\n    return 'new ' + unit\n")
    deadline = time.monotonic() + 15
    while True:
        # Up arrow recalls the previous line from readline's history.
        child.send(UP)
        child.expect("shapes.describe_shape\\('cm'\\)")
        child.send("\r")
        if child.expect(["'new cm'", "'old cm'"]) == 0:
            break
        assert time.monotonic() < deadline, "the edit was not applied"
        child.expect(">>> ")
    child.expect(">>> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    history = (tmp_path / ".python_history").read_text()
    assert "import shapes" in history
    # The next session finds the history of this one.
    child = spawn(tmp_path)
    child.send(UP)
    child.expect("shapes.describe_shape\\('cm'\\)")
    child.send("\r")
    child.expect("NameError")
    child.sendeof()
    child.expect(pexpect.EOF)


def test_log_line_goes_above_the_prompt_and_keeps_the_typed_input(tmp_path):
    """A message from the watcher thread while the user types: on its own line, then the
    prompt again with the partial input, which still runs when the line is finished."""
    (tmp_path / "shapes.py").write_text("def describe():\n    return 'old'\n")
    child = spawn(tmp_path)
    # The banner names what is watched.
    assert f"watching {os.path.realpath(tmp_path)};" in child.before
    run(child, "import shapes", "import shapes")
    child.send("seen = shapes.descr")
    child.expect_exact("seen = shapes.descr")
    (tmp_path / "shapes.py").write_text("def describe():\n    return 'new'\n")
    # The prompt line is cleared, the message written, and the prompt redrawn with the input.
    child.expect_exact("\r\x1b[Jhotswap: updated shapes.describe", timeout=20)
    child.expect_exact("\n>>> seen = shapes.descr")
    child.sendline("ibe()")
    run(child, "seen", "'new'")
    # With the cursor moved left, it is put back there after the message.
    child.send("word = 'ab'" + LEFT)
    child.expect_exact("word = 'ab'")
    (tmp_path / "shapes.py").write_text("def describe():\n    return 'newer'\n")
    child.expect_exact("\r\x1b[Jhotswap: updated shapes.describe", timeout=20)
    child.expect_exact("\n>>> word = 'ab'\x1b[1D")
    child.sendline("c")
    run(child, "word", "'abc'")
    # Wide characters take two columns each.
    child.send("wide = '日本'" + LEFT + LEFT)
    child.expect_exact("wide = '日本'")
    (tmp_path / "shapes.py").write_text("def describe():\n    return 'newer still'\n")
    child.expect_exact("\r\x1b[Jhotswap: updated shapes.describe", timeout=20)
    child.expect_exact("\n>>> wide = '日本'\x1b[3D")
    child.sendline("x")
    run(child, "wide", "'日x本'")
    # A line wider than the terminal (200 columns): cleared from its first row.
    long_line = "long = '" + "x" * 250 + "'"
    child.send(long_line)
    child.expect_exact("x" * 150)
    child.expect_exact("'")
    (tmp_path / "shapes.py").write_text("def describe():\n    return 'newest'\n")
    child.expect_exact("\x1b[1A\r\x1b[Jhotswap: updated shapes.describe", timeout=20)
    child.expect_exact(">>> " + long_line)
    child.sendline("")
    run(child, "len(long)", "250")
    child.sendeof()
    child.expect(pexpect.EOF)
