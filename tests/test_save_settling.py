"""A save is applied when the kernel reports its end (the close of a written file, a rename into
place), not after the debounce: with a 3 s debounce every editor's save still applies at once,
and the guarantees the debounce gave (no empty middle of a two-step write, no removal during
vim's backup-rename, a checkout in few batches) hold."""

from __future__ import annotations

import time

import pytest

DEBOUNCE_MS = 3000  # far longer than any save here takes to apply, even on a loaded machine
PROMPT = 2.0  # seconds: an edit applied within this did not wait for the debounce

MOD = "def f():\n    return {!r}\n"


@pytest.mark.parametrize("how", ["plain", "atomic", "vim", "two-step"])
def test_a_save_applies_before_the_debounce(project, how):
    project.write("mod.py", MOD.format("v1"))
    prog = project.start()
    prog.exec("import mod")
    prog.watch(debounce_ms=DEBOUNCE_MS)
    for version in ("v2", "v3"):
        saved = time.monotonic()
        project.write("mod.py", MOD.format(version), how=how)
        report = prog.wait_reload(timeout=30)
        took = time.monotonic() - saved
        assert report["updated"] == ["mod.f"] and not report["errors"], report
        assert prog.eval("mod.f()") == version
        assert took < PROMPT, f"{how} save applied after {took:.2f} s: waited for the debounce"


def test_files_written_together_still_land_together(project):
    """40 modules rewritten back to back with a 50 ms debounce: the first may go out alone (it
    looks like a lone save), the rest wait for the tree to be quiet and come in one batch."""
    names = [f"m{i:02d}" for i in range(40)]
    for name in names:
        project.write(f"pkg/{name}.py", "def v():\n    return 1\n")
    project.write("pkg/__init__.py", "")
    prog = project.start()
    prog.exec(f"import importlib; mods = [importlib.import_module('pkg.' + n) for n in {names}]")
    prog.watch(debounce_ms=50)
    for name in names:
        project.path(f"pkg/{name}.py").write_text("def v():\n    return 2\n")
    seen: list = []
    reports = 0
    while len(seen) < len(names):
        report = prog.wait_reload(timeout=30)
        assert not report["errors"], report
        seen += report["updated"]
        reports += 1
    assert sorted(seen) == sorted(f"pkg.{n}.v" for n in names)
    assert reports <= 3, f"40 files came in {reports} reports"
    assert prog.eval("sorted({m.v() for m in mods})") == [2]


def test_a_save_that_runs_statements_waits_for_the_files_saved_with_it(project):
    """The first file of a two-file save imports a name the second adds: applied alone it would
    fail. Its save runs a statement, so it waits the debounce (500 ms here) and the second file,
    written 0.1 s later, lands in the same batch: no error, as a fresh start."""
    project.write("a.py", "from b import base\n\n\ndef use():\n    return base()\n")
    project.write("b.py", "def base():\n    return 'b'\n")
    prog = project.start()
    prog.exec("import a")
    prog.watch(debounce_ms=500)
    project.write("a.py", "from b import base, added\n\n\ndef use():\n    return added()\n")
    time.sleep(0.1)
    project.write("b.py", "def base():\n    return 'b'\n\n\ndef added():\n    return 'new'\n")
    report = prog.wait_reload(timeout=30)
    assert not report["errors"], report
    assert sorted(report["paths"]) == ["a.py", "b.py"], report
    assert prog.eval("a.use()") == "new"
