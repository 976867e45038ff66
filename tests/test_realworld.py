"""The real-world upgrade suite runs end to end on its two quick packages (sqlparse, tabulate).

The oracle is N+1 started fresh: every changed definition a fresh start binds runs N+1's
code in the live process, every held reference to changed code does, and every test of N+1
that passes fresh passes live (tabulate 0.9 turns the module into a package).
"""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parent.parent / "benches" / "realworld" / "run.py"
QUICK = ("sqlparse", "tabulate")


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


pytestmark = [
    pytest.mark.skipif(
        not pypi_reachable(), reason="PyPI is unreachable: the suite downloads releases"
    ),
    pytest.mark.skipif(importlib.util.find_spec("pip") is None, reason="needs pip to download"),
]


def test_quick_packages_upgrade_in_place(tmp_path):
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--quick", "--results", str(results), "--timeout", "100"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    print(proc.stdout[-3000:], proc.stderr[-2000:])
    assert proc.returncode == 0
    text = results.read_text()
    print(text)
    for name in QUICK:
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        files, lines, defs, defs_new, refs, refs_new = (int(c) for c in cells[2:8])
        regressed, ran = (int(n) for n in re.findall(r"\d+", cells[8]))
        assert cells[11] == "no", f"{name}: the live process died"
        assert files > 0 and lines >= 100, f"{name}: the release pair changes too little"
        assert defs > 0, f"{name}: no changed definition found between the releases"
        assert 0 <= defs_new <= defs and 0 <= refs_new <= refs
        # Tests that pass fresh but did not pass live, whether they failed or never ran there.
        assert ran > 0 and regressed == 0, f"{name}: {regressed} tests regressed"
        assert defs_new == defs, f"{name}: {defs - defs_new} changed definitions run release N"
        assert refs_new == refs, f"{name}: {refs - refs_new} held references run release N"
