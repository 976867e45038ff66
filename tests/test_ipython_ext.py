"""``%load_ext hotswap`` in a real IPython shell (run in a subprocess)."""

import os
import subprocess
import sys
import textwrap

import pytest

DRIVER = r"""
import os, sys, time
from IPython.core.interactiveshell import InteractiveShell

ip = InteractiveShell.instance()
ip.run_cell("%load_ext hotswap")
ip.run_cell("import m; before = m.f")
assert ip.run_cell("m.f()").result == 1

with open("m.py", "w") as f:
    f.write("def f():\n    return 2\n")
deadline = time.monotonic() + 15
while ip.run_cell("m.f()").result != 2 and time.monotonic() < deadline:
    time.sleep(0.05)
print("RESULT", ip.run_cell("m.f(), before is m.f").result)

os.makedirs("../extra", exist_ok=True)
with open("../extra/other.py", "w") as f:
    f.write("def g():\n    return 'old'\n")
ip.run_cell("import os, sys; sys.path.append(os.path.abspath('../extra')); import other")
with open("../extra/other.py", "w") as f:
    f.write("def g():\n    return 'new'\n")
deadline = time.monotonic() + 15
while ip.run_cell("other.g()").result != "new" and time.monotonic() < deadline:
    time.sleep(0.05)
print("OTHER", ip.run_cell("other.g()").result)
ip.run_cell("%hotswap")
"""


def test_load_ext_makes_imported_modules_live(tmp_path):
    pytest.importorskip("IPython", reason="IPython is not installable for this Python")
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    (notebook / "m.py").write_text("def f():\n    return 1\n")
    (notebook / "drive.py").write_text("import os\n" + textwrap.dedent(DRIVER))
    result = subprocess.run(
        [sys.executable, "drive.py"],
        cwd=notebook,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr + out
    assert "RESULT (2, True)" in out, out
    assert "OTHER new" in out, out
    assert "hotswap: updated m.f" in out  # said just before the cell that first sees it
    # %load_ext names what it watches; %hotswap shows it again with the last edit.
    root, extra = notebook.resolve(), tmp_path.resolve() / "extra"
    assert out.startswith(f"hotswap: watching {root}: modules imported"), out
    assert f"hotswap: also watching {extra}\n" in out, out
    magic = out.split(f"hotswap: watching {root}, {extra}\n")[1]
    assert magic.startswith("last edit:\n") and "updated other.g" in magic, out


PROBLEMS_DRIVER = r"""
import time
from IPython.core.interactiveshell import InteractiveShell

ip = InteractiveShell.instance()
ip.run_cell("%load_ext hotswap")
ip.run_cell("import m; gen = m.numbers(); next(gen)")


def edit_and_wait(text, until):
    with open("m.py", "w") as f:
        f.write(text)
    deadline = time.monotonic() + 15
    while not ip.run_cell(until).result and time.monotonic() < deadline:
        time.sleep(0.05)


# A syntax error: the next cell is told once, and the old code keeps running.
edit_and_wait("def numbers():\n    yield 1 +\n", "len(extension.history) == 1")
# A running generator keeps its old code: a warning, said once, with the summary.
edit_and_wait("def numbers():\n    yield 2\n    yield 3\n", "len(extension.history) == 2")
print("HISTORY", len(ip.user_ns["extension"].history))
"""


def test_each_problem_is_printed_once(tmp_path):
    """Errors and warnings of an edit reach the shell once: hotswap's log records are not
    also written by logging's last-resort handler."""
    pytest.importorskip("IPython", reason="IPython is not installable for this Python")
    (tmp_path / "m.py").write_text("def numbers():\n    yield 1\n")
    driver = PROBLEMS_DRIVER.replace(
        'ip.run_cell("import m',
        'ip.run_cell("import hotswap.ipython; extension = hotswap.ipython._EXTENSION")\n'
        'ip.run_cell("import m',
    )
    (tmp_path / "drive.py").write_text(driver)
    result = subprocess.run(
        [sys.executable, "drive.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, err + out
    assert "HISTORY 2" in out, err + out
    assert err.count("syntax error") == 1, err
    assert "hotswap: m.py:2: syntax error (column" in err, err
    assert "the file was not applied" in err, err
    assert err.count("suspended generator") == 1, err
    assert "hotswap: updated m.numbers\nhotswap: m.py:1: m.numbers: 1 suspended" in err, err
    assert "syntax error" not in out and "suspended" not in out, out


def test_terminal_message_between_cells_goes_above_the_prompt(tmp_path):
    """In a terminal IPython, a message of the watcher thread while the user types: the prompt
    is hidden, the message written, and the prompt drawn again with the partial input (IPython
    patches sys.stderr while it waits at its prompt; the extension writes through it)."""
    pytest.importorskip("IPython", reason="IPython is not installable for this Python")
    pexpect = pytest.importorskip("pexpect", reason="pexpect needs a POSIX pty")
    notebook, lib = tmp_path / "notebook", tmp_path / "lib"
    notebook.mkdir()
    lib.mkdir()
    (lib / "other.py").write_text("X = 1\n")
    env = dict(os.environ, HOME=str(tmp_path), TERM="xterm", IPYTHONDIR=str(tmp_path / "ipy"))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "IPython", "--no-banner", "--colors=nocolor"],
        cwd=str(notebook),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    try:
        child.expect(r"In \[1\]")
        child.sendline("%load_ext hotswap")
        child.expect(r"In \[2\]")
        child.sendline(f"import sys; sys.path.append({str(lib)!r}); import other")
        child.expect("hotswap: also watching")
        child.expect(r"In \[3\]")
        child.send("x = 1 +")
        child.expect_exact("x = 1 +")
        lib.rename(tmp_path / "lib-away")
        child.expect("hotswap: watched directory .* was removed or moved away")
        child.expect(r"In \[3\]: x = 1 \+")  # drawn again, below the message
        child.send(" 41\r")
        child.expect(r"In \[4\]")
        child.sendline("x")
        child.expect(r"Out\[4\]: (\x1b\[[0-9;]*m)*42")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
