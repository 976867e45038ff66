"""Data-driven reload scenarios (issue 3, point 7).

A :class:`Scenario` is a small project (``files``), a program that imports it and holds
references (``setup``, executed in the driver subprocess), and a list of :class:`Edit` steps.
Each edit changes files (full new text, or ``old -> new`` replacements), is applied, and then
its expectations are checked: expressions evaluated in the running program against expected
values, and optional expectations on the reload report.

Every scenario runs through ``reload_paths`` (``Program.reload``); those with ``watch=True`` also
run through the real watcher (``Program.watch()``, ``Project.write``, ``Program.wait_reload()``).
The scenarios live in ``test_scenarios_<category>.py``; pytest ids are ``category/name``.

With a Python that has pytest (e.g. ``.venvs/3.11/bin/python``): ``tests/scenarios.py --count``
prints the number of scenarios per category; ``--xfails`` lists the scenarios marked as
expected failures with their causes; ``--run`` runs them with that interpreter and prints
passed/xfailed/skipped/failed per category.

Conventions for expectations:

* ``expect`` maps an expression to its expected value. Values are compared after a JSON round
  trip (tuples become lists); non-JSON results come back as their ``repr``.
* The program has helpers: ``raises(fn)`` returns the name of the exception ``fn()`` raises
  (or ``None``); ``tb_line(fn)``/``tb_text(fn)`` give the line number/source text of the
  innermost traceback frame of the exception ``fn()`` raises.
* Unless an edit lists ``errors`` (or ``rude``), the report must have none.
* ``updated``/``added``/``deleted``/``moved``/``recreated`` list names that must appear in that
  report field (a subset check); ``not_updated`` names must not appear in ``updated``.
* ``errors``/``rude`` are ``(file, line, substring)`` triples: some entry's path must be
  ``file`` (relative, or ending in ``/file``), its line must equal ``line`` (``None``: any
  line) and its message must contain ``substring`` (case-insensitive).
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

PRELUDE = """
def raises(fn):
    try:
        fn()
    except BaseException as exc:
        return type(exc).__name__
    return None


def _last_frame(fn):
    import sys
    import traceback

    try:
        fn()
    except BaseException:
        return traceback.extract_tb(sys.exc_info()[2])[-1]
    return None


def tb_line(fn):
    return _last_frame(fn).lineno


def tb_text(fn):
    return _last_frame(fn).line
"""


def src(text: str) -> str:
    """Dedented source text without the leading newline of a triple-quoted string."""
    return textwrap.dedent(text).lstrip("\n")


@dataclass
class Edit:
    """One save (or batch of saves) and what must hold after it is applied.

    ``changes`` items: ``(file, text)`` replaces the whole file; ``(file, old, new)`` replaces
    the single occurrence of ``old``. ``reload`` overrides the paths passed to ``reload_paths``
    (default: the changed files, in order). ``run`` is executed after the reload, before the
    expectations are evaluated. ``how`` is how the files are written (``Project.write``: plain,
    atomic, vim, two-step).
    """

    changes: list
    expect: dict = field(default_factory=dict)
    updated: tuple = ()
    not_updated: tuple = ()
    added: tuple = ()
    deleted: tuple = ()
    moved: tuple = ()
    recreated: tuple = ()
    notes: tuple = ()
    errors: tuple = ()
    rude: tuple = ()
    stderr: tuple = ()
    reload: Optional[list] = None
    run: str = ""
    how: str = "plain"


@dataclass
class Scenario:
    category: str
    name: str
    files: dict
    setup: str
    edits: list
    before: dict = field(default_factory=dict)
    watch: bool = False
    xfail: str = ""
    xfail_watch: str = ""
    min_version: tuple = (3, 9)
    max_version: tuple = (9, 99)

    @property
    def id(self) -> str:
        return f"{self.category}/{self.name}"


def E(*changes, **kwargs) -> Edit:
    """Shorthand: ``E(("m.py", "old", "new"), expect={...}, updated=("m.f",))``."""
    return Edit(list(changes), **kwargs)


def S(category: str, name: str, files: dict, setup: str, *edits: Edit, **kwargs) -> Scenario:
    files = {path: src(text) for path, text in files.items()}
    return Scenario(category, name, files, src(setup), list(edits), **kwargs)


def xfail(scenarios: list, reasons: dict, watch_reasons: Optional[dict] = None) -> list:
    """Marks the scenarios named in ``reasons`` (name -> short cause) as expected to fail on the
    current engine (strict: they fail the suite once they pass). ``watch_reasons`` marks only
    their watcher runs."""
    by_name = {sc.name: sc for sc in scenarios}
    for name, reason in reasons.items():
        by_name[name].xfail = reason
    for name, reason in (watch_reasons or {}).items():
        by_name[name].xfail_watch = reason
    return scenarios


# --- pytest glue ------------------------------------------------------------------------------


def params(scenarios: list, mode: str) -> list:
    """``pytest.param`` objects for ``scenarios`` in ``mode`` ("reload" or "watch")."""
    import pytest

    seen = set()
    out = []
    for sc in scenarios:
        assert sc.id not in seen, f"duplicate scenario id {sc.id}"
        seen.add(sc.id)
        if mode == "watch" and not sc.watch:
            continue
        marks = []
        if not (sc.min_version <= sys.version_info[:2] <= sc.max_version):
            marks.append(pytest.mark.skip(reason=f"needs Python {sc.min_version}+"))
        reason = (sc.xfail_watch or sc.xfail) if mode == "watch" else sc.xfail
        if reason:
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        out.append(pytest.param(sc, id=sc.id, marks=marks))
    return out


def _norm(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _values(prog, expect: dict) -> list:
    """Mismatches of ``expect`` as (expr, got, wanted) triples."""
    bad = []
    for expr, wanted in expect.items():
        try:
            got = prog.eval(expr)
        except AssertionError as exc:  # ProgramError: the expression raised
            got = f"<raised: {str(exc).splitlines()[0]}>"
        if got != _norm(wanted):
            bad.append((expr, got, _norm(wanted)))
    return bad


def _check_values(prog, expect: dict, label: str, report: Optional[dict] = None) -> None:
    bad = _values(prog, expect)
    if bad:
        lines = "\n".join(f"  {e}: got {g!r}, expected {w!r}" for e, g, w in bad)
        raise AssertionError(
            f"{label}: wrong behaviour\n{lines}\nreport: {report}\nstderr:\n{prog.stderr[-3000:]}"
        )


def _same_file(path: str, name: str) -> bool:
    path = path.replace("\\", "/")
    return path == name or path.endswith("/" + name)


def _match_entries(entries: list, wanted: tuple) -> list:
    missing = []
    for file, line, text in wanted:
        if not any(
            _same_file(e["path"], file)
            and (line is None or e["line"] == line)
            and text.lower() in e["message"].lower()
            for e in entries
        ):
            missing.append((file, line, text))
    return missing


def _check_report(prog, report: dict, edit: Edit, label: str) -> None:
    problems = []
    for key in ("updated", "added", "deleted", "moved", "recreated"):
        have = report.get(key, [])
        missing = [n for n in getattr(edit, key) if n not in have]
        if missing:
            problems.append(f"{key} lacks {missing}")
    wrongly = [n for n in edit.not_updated if n in report["updated"]]
    if wrongly:
        problems.append(f"updated should not contain {wrongly}")
    for note in edit.notes:
        if not any(note.lower() in n.lower() for n in report["notes"]):
            problems.append(f"no note containing {note!r}")
    for key in ("errors", "rude"):
        wanted = getattr(edit, key)
        entries = report.get(key, [])
        if wanted:
            missing = _match_entries(entries, wanted)
            if missing:
                problems.append(f"{key} lacks {missing}")
        elif entries:
            problems.append(f"unexpected {key}: {entries}")
    stderr = prog.stderr
    for text in edit.stderr:
        if text not in stderr:
            problems.append(f"stderr lacks {text!r}")
    if problems:
        raise AssertionError(
            f"{label}: report mismatch: {'; '.join(problems)}\nreport: {report}"
            f"\nstderr:\n{stderr[-3000:]}"
        )


def _merge(reports: list) -> dict:
    merged = dict(reports[0])
    for r in reports[1:]:
        for key, value in r.items():
            if isinstance(value, list):
                merged[key] = merged.get(key, []) + value
    return merged


def _watch_reports(prog, changed: list, timeout: float) -> dict:
    """The watcher's reports until every changed file was part of a batch."""
    reports: list = []
    deadline = time.monotonic() + timeout
    seen: set = set()
    while True:
        left = [n for n in changed if not any(_same_file(p, n) for p in seen)]
        if reports and not left:
            return _merge(reports)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"watcher never reported {left}; reports: {reports}")
        report = prog.wait_reload(timeout=remaining)
        reports.append(report)
        seen.update(report.get("paths", []))


def run_scenario(project, sc: Scenario, mode: str) -> None:
    from conftest import TIMEOUT

    for name, text in sc.files.items():
        project.write(name, text)
    prog = project.start()
    prog.exec(PRELUDE)
    if sc.setup:
        prog.exec(sc.setup)
    _check_values(prog, sc.before, "before any edit")
    if mode == "watch":
        prog.watch()
    current = dict(sc.files)
    for number, edit in enumerate(sc.edits, 1):
        label = f"{sc.id} edit {number} ({mode})"
        changed: list = []
        for change in edit.changes:
            if len(change) == 2:
                name, text = change
                new_text = src(text)
            else:
                name, old, new = change
                text = current.get(name)
                if text is None:
                    text = Path(project.path(name)).read_text()
                assert text.count(old) == 1, f"{label}: {old!r} occurs {text.count(old)}x in {name}"
                new_text = text.replace(old, new)
            current[name] = new_text
            if name not in changed:
                changed.append(name)
        for name in changed:
            project.write(name, current[name], how=edit.how)
        if mode == "reload":
            report = prog.reload(*(edit.reload if edit.reload is not None else changed))
        else:
            report = _watch_reports(prog, changed, TIMEOUT)
        if edit.run:
            prog.exec(edit.run)
        _check_values(prog, edit.expect, label, report)
        _check_report(prog, report, edit, label)


# --- counting ---------------------------------------------------------------------------------


def all_scenarios() -> list:
    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    import importlib

    out = []
    for path in sorted(here.glob("test_scenarios_*.py")):
        module = importlib.import_module(path.stem)
        out.extend(module.SCENARIOS)
    return out


def run_and_tally(extra: list) -> int:
    """Runs the scenario tests with this interpreter and prints outcomes per category."""
    import subprocess
    import tempfile
    import xml.etree.ElementTree as ET

    here = Path(__file__).parent
    files = sorted(str(p) for p in here.glob("test_scenarios_*.py"))
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        code = subprocess.call([*cmd, f"--junitxml={xml}", *files, *extra])
        root = ET.parse(xml).getroot()
    counts: dict = {}
    for case in root.iter("testcase"):
        name = case.get("name", "")
        if "[" not in name:
            category, mode = "cli", "plain"
        else:
            category = name.split("[", 1)[1].split("/", 1)[0]
            mode = name.split("[", 1)[0].replace("test_", "")
        outcome = "passed"
        for child in case:
            if child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
            elif child.tag in ("failure", "error"):
                outcome = "failed"
        row = counts.setdefault(category, {})
        row[(mode, outcome)] = row.get((mode, outcome), 0) + 1
    version = ".".join(map(str, sys.version_info[:2]))
    print(f"\nPython {version}: scenario outcomes per category (reload runs / watcher runs)")
    kinds = ("passed", "xfailed", "skipped", "failed")
    print(f"{'category':<14} " + " ".join(f"{k:>15}" for k in kinds))
    for category in sorted(counts):
        row = counts[category]
        cells = []
        for k in kinds:
            cells.append(
                f"{row.get(('reload', k), 0) + row.get(('plain', k), 0)}/{row.get(('watch', k), 0)}"
            )
        print(f"{category:<14} " + " ".join(f"{c:>15}" for c in cells))
    return code


def main(argv: list) -> int:
    if "--run" in argv:
        return run_and_tally([a for a in argv if a != "--run"])
    if "--xfails" in argv:
        for sc in all_scenarios():
            if sc.xfail:
                print(f"- `{sc.id}`: {sc.xfail}")
            elif sc.xfail_watch:
                print(f"- `{sc.id}` (watcher run only): {sc.xfail_watch}")
        return 0
    if "--count" not in argv:
        print("usage: python tests/scenarios.py --count | --xfails | --run", file=sys.stderr)
        return 2
    counts: dict = {}
    for sc in all_scenarios():
        c = counts.setdefault(sc.category, [0, 0, 0])
        c[0] += 1
        c[1] += bool(sc.watch)
        c[2] += bool(sc.xfail)
    print(f"{'category':<14} {'scenarios':>9} {'watcher':>8} {'xfail':>6}")
    for category, (n, w, x) in sorted(counts.items()):
        print(f"{category:<14} {n:>9} {w:>8} {x:>6}")
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    print(f"{'total':<14} {total[0]:>9} {total[1]:>8} {total[2]:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
