"""``%load_ext hotswap`` in a real IPython shell (run in a subprocess)."""

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

os.makedirs("extra", exist_ok=True)
with open("extra/other.py", "w") as f:
    f.write("def g():\n    return 'old'\n")
ip.run_cell("import os, sys; sys.path.append(os.path.abspath('extra')); import other")
with open("extra/other.py", "w") as f:
    f.write("def g():\n    return 'new'\n")
deadline = time.monotonic() + 15
while ip.run_cell("other.g()").result != "new" and time.monotonic() < deadline:
    time.sleep(0.05)
print("OTHER", ip.run_cell("other.g()").result)
ip.run_cell("%hotswap")
"""


def test_load_ext_makes_imported_modules_live(tmp_path):
    pytest.importorskip("IPython", reason="IPython is not installable for this Python")
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    (tmp_path / "drive.py").write_text("import os\n" + textwrap.dedent(DRIVER))
    result = subprocess.run(
        [sys.executable, "drive.py"],
        cwd=tmp_path,
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
    assert f"hotswap: live modules from {tmp_path.resolve()}" in out
    assert "updated other.g" in out.split("live modules from")[1]
