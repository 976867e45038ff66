"""Bad and unusual inputs: broken, half-written, oddly encoded, huge, unreadable or misplaced
files, and file-system shapes that trip watchers. Each test checks that the problem is reported
(or harmlessly ignored), that the program keeps running the old code, and that no later edit is
lost: a good save afterwards still applies.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import TIMEOUT, Program, ProgramError, Project

MOD_V1 = """\
def f():
    return "v1"


def g():
    return "g1"
"""
MOD_V2 = MOD_V1.replace('"v1"', '"v2"')


def no_report_within(prog: Program, seconds: float) -> None:
    """Asserts that the watcher hands back no report (nothing changed, nothing failed)."""
    try:
        report = prog.wait_reload(timeout=seconds)
    except ProgramError as exc:
        assert "TimeoutError" in str(exc), exc
        return
    raise AssertionError(f"expected no report, got {report}")


def drain_reports(prog: Program, quiet: float = 0.3) -> list:
    """Every report the watcher produces until it has been quiet for ``quiet`` seconds."""
    reports = []
    while True:
        try:
            reports.append(prog.wait_reload(timeout=quiet))
        except ProgramError as exc:
            assert "TimeoutError" in str(exc), exc
            return reports


def start_watching(project: Project, text: str = MOD_V1, name: str = "mod.py") -> Program:
    """A program that imported ``name`` (written with ``text``) and watches the project."""
    project.write(name, text)
    prog = project.start()
    prog.exec(f"import {name[:-3]}")
    prog.watch()
    return prog


def assert_good_edit_applies(project: Project, prog: Program, timeout: float = TIMEOUT) -> None:
    """After whatever happened, a plain good save of ``mod.py`` is applied."""
    project.write("mod.py", MOD_V1.replace('"g1"', '"g-final"'))
    report = prog.wait_reload(timeout=timeout)
    assert "mod.g" in report["updated"] and not report["errors"], report
    assert prog.eval("mod.g()") == "g-final"


# --- syntax errors ---------------------------------------------------------------------------


def test_file_with_several_syntax_errors_reports_each_then_fix_applies(project):
    """Every syntax error of a file is reported with its line; nothing of the file is applied
    (not even the good edit of ``f`` in the same save); the next good save applies in full."""
    prog = start_watching(project)
    broken = (
        "def f():\n"  # 1
        '    return "v2"\n'  # 2
        "\n"  # 3
        "def g(:\n"  # 4
        '    return "g2"\n'  # 5
        "\n"  # 6
        "x = = 1\n"  # 7
        "\n"  # 8
        "def h()\n"  # 9
        "    return 3\n"  # 10
    )
    project.path("mod.py").write_text(broken)
    report = prog.wait_reload()
    assert report["updated"] == [] and report["added"] == [] and report["deleted"] == [], report
    lines = {e["line"] for e in report["errors"]}
    assert {4, 7, 9} <= lines, report
    assert all(e["path"].endswith("mod.py") for e in report["errors"]), report
    assert all("syntax" in e["message"].lower() for e in report["errors"]), report
    assert "mod.py:4" in prog.stderr and "mod.py:9" in prog.stderr
    assert prog.eval("(mod.f(), mod.g(), hasattr(mod, 'h'))") == ["v1", "g1", False]
    project.write("mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert prog.eval("mod.f()") == "v2"


CLASS_V1 = """\
class Greeter:
    greeting = "hi"

    def a(self):
        return "a1"

    def b(self):
        return "b1"

    def c(self):
        return "c1"
"""


def test_syntax_error_in_the_middle_of_a_class(project):
    """A broken method between two edited ones: the error points at the broken line inside the
    class, neither neighbour is applied, the live instance keeps working; the fix applies all."""
    project.write("shapes.py", CLASS_V1)
    prog = project.start()
    prog.exec("import shapes; obj = shapes.Greeter()")
    prog.watch()
    broken = (
        CLASS_V1.replace('"a1"', '"a2"')
        .replace('return "b1"', 'return "b2" +')
        .replace('"c1"', '"c2"')
    )
    project.write("shapes.py", broken)
    report = prog.wait_reload()
    assert [e["line"] for e in report["errors"]] == [8], report
    assert "shapes.py:8: syntax error" in prog.stderr
    assert report["updated"] == [], report
    assert prog.eval("(obj.a(), obj.b(), obj.c())") == ["a1", "b1", "c1"]
    fixed = CLASS_V1.replace('"a1"', '"a2"').replace('"b1"', '"b2"').replace('"c1"', '"c2"')
    project.write("shapes.py", fixed)
    report = prog.wait_reload()
    assert not report["errors"], report
    assert set(report["updated"]) == {
        "shapes.Greeter.a",
        "shapes.Greeter.b",
        "shapes.Greeter.c",
    }, report
    assert prog.eval("(obj.a(), obj.b(), obj.c())") == ["a2", "b2", "c2"]


def test_unclosed_bracket_in_a_class_is_reported_where_python_reports_it(project):
    """``return ("b2" +`` left open inside a method: nothing is applied, and the first error
    is on the line the running Python's own compiler names (8 on 3.10+, 10 on 3.9)."""
    project.write("shapes.py", CLASS_V1)
    prog = project.start()
    prog.exec("import shapes; obj = shapes.Greeter()")
    prog.watch()
    broken = CLASS_V1.replace('return "b1"', 'return ("b2" +').replace('"c1"', '"c2"')
    with pytest.raises(SyntaxError) as python_says:
        compile(broken, "shapes.py", "exec")
    project.write("shapes.py", broken)
    report = prog.wait_reload()
    assert report["updated"] == [] and report["errors"], report
    assert prog.eval("(obj.b(), obj.c())") == ["b1", "c1"]
    assert report["errors"][0]["line"] == python_says.value.lineno, report


# --- half-written files ----------------------------------------------------------------------

HALF_V1 = f"""\
def f():
    return "v1 {"x" * 80}"


def g():
    return "g1"
"""
HALF_V2 = HALF_V1.replace('"v1 ', '"v2 ').replace('"g1"', '"g2"')


def write_in_halves(path: Path, data: bytes, how: str) -> None:
    half = len(data) // 2
    if how == "chunked":  # one writer, paused in the middle of the file (no close in between)
        with open(path, "wb") as f:
            f.write(data[:half])
            f.flush()
            time.sleep(0.1)
            f.write(data[half:])
    else:  # "half-then-full": a save of half the content, then the full save 100 ms later
        path.write_bytes(data[:half])
        time.sleep(0.1)
        path.write_bytes(data)


def test_truncate_then_write_is_one_clean_update(project):
    """The empty middle of a two-step save is never applied: one report, ``f`` and ``g``
    updated in place (not deleted and re-added), no errors."""
    prog = start_watching(project, HALF_V1)
    prog.exec("held = mod.f")
    project.write("mod.py", HALF_V2, how="two-step")
    report = prog.wait_reload()
    assert set(report["updated"]) == {"mod.f", "mod.g"}, report
    assert report["deleted"] == [] and report["added"] == [] and not report["errors"], report
    assert prog.eval("held is mod.f and mod.g()") == "g2"
    assert prog.eval("mod.f()").startswith("v2 ")
    assert drain_reports(prog) == []
    assert_good_edit_applies(project, prog)


@pytest.mark.parametrize("how", ["chunked", "half-then-full"])
def test_half_written_file_ends_with_the_full_content(project, how):
    """Half the content (cut inside a string: not valid Python) then the rest 100 ms later:
    the half may be reported as a syntax error, but the final state is the full content."""
    data = HALF_V2.encode()
    with pytest.raises(SyntaxError):
        compile(data[: len(data) // 2], "half", "exec")
    prog = start_watching(project, HALF_V1)
    prog.exec("held = mod.f")
    write_in_halves(project.path("mod.py"), data, how)
    prog.wait_until("mod.g()", "g2")
    assert prog.eval("mod.f()").startswith("v2 ")
    assert prog.eval("held is mod.f") is True
    for report in drain_reports(prog):
        assert report["deleted"] == [], report
        assert all("syntax" in e["message"] for e in report["errors"]), report
    assert_good_edit_applies(project, prog)


# --- encodings and line endings --------------------------------------------------------------


def test_non_utf8_bytes_are_reported_with_their_line(project):
    """Undecodable bytes: an error naming the line, nothing applied (not even the valid edit of
    ``f`` in the same save), the old code keeps running; the fixed file applies."""
    prog = start_watching(project)
    bad = b'def f():\n    return "v2"\n\n\ndef g():\n    return "caf\xe9"\n'
    project.path("mod.py").write_bytes(bad)
    report = prog.wait_reload()
    assert len(report["errors"]) == 1, report
    error = report["errors"][0]
    assert error["path"].endswith("mod.py") and error["line"] == 6, report
    assert "utf-8" in error["message"].lower(), report
    assert "mod.py:6" in prog.stderr
    assert report["updated"] == [], report
    assert prog.eval("(mod.f(), mod.g())") == ["v1", "g1"]
    project.path("mod.py").write_bytes(bad.replace(b"\xe9", "é".encode()))
    report = prog.wait_reload()
    assert set(report["updated"]) == {"mod.f", "mod.g"} and not report["errors"], report
    assert prog.eval("(mod.f(), mod.g())") == ["v2", "café"]


COOKIE_SOURCE = (
    '# -*- coding: {encoding} -*-\ndef f():\n    return "{text}"\n\n\ndef g():\n    return "ü"\n'
)


@pytest.mark.parametrize(
    "encoding, old, new",
    [
        ("latin-1", "café", "naïve"),
        pytest.param(
            "cp1252",
            "5 €",
            "7 €",
        ),
    ],
    ids=["latin-1", "cp1252"],
)
def test_pep263_encoding_cookie_source_is_edited(project, encoding, old, new):
    """A file in a legacy encoding declared by a coding cookie: it imports as under plain
    Python, the edit is decoded in that encoding, only ``f`` changes, and ``linecache``
    (tracebacks) shows the decoded text."""
    source = COOKIE_SOURCE.format(encoding=encoding, text=old)
    project.path("mod.py").write_bytes(source.encode(encoding))
    prog = project.start()
    prog.exec("import mod, linecache")
    assert prog.eval("mod.f()") == old
    prog.watch()
    project.path("mod.py").write_bytes(source.replace(old, new).encode(encoding))
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert prog.eval("(mod.f(), mod.g())") == [new, "ü"]
    assert prog.eval("linecache.getline(mod.__file__, 3)") == f'    return "{new}"\n'


def test_utf8_bom_file_is_edited(project):
    """A UTF-8 BOM at the start: the edit applies to ``f`` alone, and line numbers are not
    shifted by the BOM."""
    text = 'def f():\n    return "é1"\n\n\ndef g():\n    return "g1"\n'
    project.path("mod.py").write_bytes(b"\xef\xbb\xbf" + text.encode())
    prog = project.start()
    prog.exec("import mod")
    prog.watch()
    new = text.replace('"é1"', '"é2"').replace('"g1"', '"g2"')
    project.path("mod.py").write_bytes(b"\xef\xbb\xbf" + new.encode())
    report = prog.wait_reload()
    assert set(report["updated"]) == {"mod.f", "mod.g"} and not report["errors"], report
    assert prog.eval("(mod.f(), mod.g())") == ["é2", "g2"]
    assert prog.eval("(mod.f.__code__.co_firstlineno, mod.g.__code__.co_firstlineno)") == [1, 5]


CRLF_V1 = 'def f():\n    return """a\nb1"""\n\n\ndef g():\n    return "g1"\n'


def test_crlf_file_is_edited(project):
    """CRLF line endings: only the edited function is updated, and a multi-line string in it has
    the same ``\\n`` newlines a fresh import gives (no stray ``\\r``)."""
    project.path("mod.py").write_bytes(CRLF_V1.replace("\n", "\r\n").encode())
    prog = project.start()
    prog.exec("import mod")
    assert prog.eval("mod.f()") == "a\nb1"
    prog.watch()
    new = CRLF_V1.replace("b1", "b2")
    project.path("mod.py").write_bytes(new.replace("\n", "\r\n").encode())
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert prog.eval("mod.f()") == "a\nb2"


def test_lf_to_crlf_conversion_changes_nothing(project):
    """Converting a file from LF to CRLF (no other change) is not an update: no report, the code
    keeps running; the next real edit updates only what it changed."""
    prog = start_watching(project, CRLF_V1)
    prog.exec("held = mod.f")
    project.path("mod.py").write_bytes(CRLF_V1.replace("\n", "\r\n").encode())
    no_report_within(prog, 1.0)
    assert prog.eval("(mod.f(), mod.g(), held is mod.f)") == ["a\nb1", "g1", True]
    new = CRLF_V1.replace('"g1"', '"g2"').replace("\n", "\r\n")
    project.path("mod.py").write_bytes(new.encode())
    report = prog.wait_reload()
    assert report["updated"] == ["mod.g"] and not report["errors"], report
    assert prog.eval("(mod.f(), mod.g())") == ["a\nb1", "g2"]


TABS_V1 = (
    "class Greeter:\n"
    '\tgreeting = "hi"\n'
    "\n"
    "\tdef hello(self, name):\n"
    "\t\tif name:\n"
    '\t\t\treturn f"{self.greeting} {name}"\n'
    '\t\treturn "nobody"\n'
    "\n"
    "\n"
    "def f():\n"
    "\tfor i in range(1):\n"
    '\t\treturn "f1"\n'
)


def test_tab_indented_file_is_edited(project):
    """Tabs for indentation: a method, a class attribute and a function are updated in place,
    a new tab-indented method is added to the live class; spaces mixed in where Python raises
    TabError are reported and not applied; the next consistent save applies."""
    project.write("mod.py", TABS_V1)
    prog = project.start()
    prog.exec("import mod; obj = mod.Greeter()")
    prog.watch()
    new = (
        TABS_V1.replace('"hi"', '"hello"')
        .replace('"nobody"', '"no one"')
        .replace('"f1"', '"f2"')
        .replace(
            '\t\treturn "no one"\n', '\t\treturn "no one"\n\n\tdef bye(self):\n\t\treturn "bye"\n'
        )
    )
    project.write("mod.py", new)
    report = prog.wait_reload()
    assert not report["errors"], report
    assert set(report["updated"]) == {"mod.Greeter.greeting", "mod.Greeter.hello", "mod.f"}
    assert report["added"] == ["mod.Greeter.bye"], report
    assert prog.eval("(obj.hello('ann'), obj.hello(''), obj.bye(), mod.f())") == [
        "hello ann",
        "no one",
        "bye",
        "f2",
    ]
    mixed = new.replace('\t\treturn "f2"', '        return "f3"')  # spaces under a tab
    with pytest.raises(TabError):
        compile(mixed, "mod.py", "exec")
    project.write("mod.py", mixed)
    report = prog.wait_reload()
    assert report["updated"] == [] and len(report["errors"]) == 1, report
    assert "TabError" in report["errors"][0]["message"], report
    assert prog.eval("mod.f()") == "f2"
    project.write("mod.py", new.replace('"f2"', '"f4"'))
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert prog.eval("mod.f()") == "f4"


# --- unusual files ---------------------------------------------------------------------------


def test_huge_module_one_function_edited(project):
    """A 10 MB module of 50,000 small functions (200,000 lines): editing one is applied, and the
    program answers all the while."""
    count = 50_000
    body = "".join(
        f'def func_{i:06d}(x):\n    """Function number {i} of a very large module."""\n'
        f"    # {'.' * 100}\n    return x + {i}\n"
        for i in range(count)
    )
    assert len(body) > 10_000_000 and body.count("\n") >= 200_000
    project.path("big.py").write_text(body)
    prog = project.start()
    prog.call("exec", timeout=120, code="import big")
    prog.watch()
    target = count // 2
    old_line = f"    return x + {target}\n"
    assert body.count(old_line) == 1
    project.path("big.py").write_text(body.replace(old_line, f"    return x - {target}\n"))
    started = time.monotonic()
    slowest = 0.0
    while prog.eval(f"big.func_{target:06d}(0)") != -target:
        assert time.monotonic() - started < 60, "the edit of the huge module was not applied"
        asked = time.monotonic()
        assert prog.eval("1 + 1") == 2
        slowest = max(slowest, time.monotonic() - asked)
        time.sleep(0.05)
    assert slowest < 5, f"the program did not answer for {slowest:.1f} s"
    report = prog.wait_reload(timeout=30)
    assert report["updated"] == [f"big.func_{target:06d}"] and not report["errors"], report
    assert prog.eval("big.func_000001(1)") == 2


def test_binary_file_replacing_a_module(project):
    """Random bytes with NULs saved as ``mod.py``: reported (with the line of the first NUL),
    the old code keeps running; the real source back applies."""
    prog = start_watching(project)
    data = bytearray(random.Random(1234).randbytes(4096))
    data[2000] = 0
    first_nul = data.index(0)
    project.path("mod.py").write_bytes(bytes(data))
    report = prog.wait_reload()
    assert len(report["errors"]) == 1 and report["updated"] == [], report
    error = report["errors"][0]
    assert error["path"].endswith("mod.py"), report
    assert error["line"] == data[:first_nul].count(b"\n") + 1, report
    assert "NUL" in error["message"], report
    assert prog.eval("(mod.f(), mod.g())") == ["v1", "g1"]
    project.write("mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert prog.eval("mod.f()") == "v2"


def test_file_replaced_by_a_directory(project):
    """``mod.py`` removed and a directory ``mod.py`` made in its place: at most an error report
    (nothing updated or deleted), the module keeps running; the file restored with an edit
    applies."""
    prog = start_watching(project)
    path = project.path("mod.py")
    path.unlink()
    path.mkdir()
    for report in drain_reports(prog, quiet=1.0):
        assert report["updated"] == report["deleted"] == [], report
        assert all(e["path"].endswith("mod.py") for e in report["errors"]), report
    assert prog.eval("(mod.f(), mod.g())") == ["v1", "g1"]
    path.rmdir()
    project.write("mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert prog.eval("mod.f()") == "v2"


def test_module_replaced_by_a_directory_is_reported(project):
    """An imported module replaced by a directory is reported, as it is when the module was
    edited before."""
    prog = start_watching(project)
    project.path("mod.py").unlink()
    project.path("mod.py").mkdir()
    errors = [e for r in drain_reports(prog, quiet=1.0) for e in r["errors"]]
    assert [e["path"] for e in errors] == ["mod.py"], errors
    assert "cannot read" in errors[0]["message"], errors


# --- permissions -----------------------------------------------------------------------------

# Run as ``python -c DROP_PRIVILEGES HOW PROGRAM ARGS...``: drops privileges, then runs PROGRAM.
DROP_PRIVILEGES = """
import os, sys
how = sys.argv[1]
if how == "nobody":
    import pwd
    user = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
elif how == "root-without-dac-capabilities":
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    # After exec, root gets the capabilities of its bounding set: drop CAP_DAC_OVERRIDE (1) and
    # CAP_DAC_READ_SEARCH (2), which let root read files whatever their permissions.
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""
PROBE = """
import sys
import hotswap  # the interpreter and hotswap are usable
open("driver.py").close()  # the project is readable
try:
    open(sys.argv[1]).close()
except PermissionError:
    sys.exit(0)
sys.exit(3)
"""


def unprivileged_python(root: Path) -> list:
    """The argv prefix of a Python that can run the driver in ``root`` but not read a mode-000
    file there. Not root: this interpreter. Root: the same interpreter as ``nobody`` if that
    user can run it, else as root without the capabilities that bypass file permissions."""
    if os.geteuid() != 0:
        return [sys.executable]
    secret = root / "probe-secret"
    secret.write_text("secret")
    secret.chmod(0)
    tried = []
    try:
        for how in ("nobody", "root-without-dac-capabilities"):
            argv = [sys.executable, "-c", DROP_PRIVILEGES, how]
            probe = subprocess.run(
                [*argv, "-c", PROBE, str(secret)], cwd=root, capture_output=True, text=True
            )
            if probe.returncode == 0:
                return argv
            tried.append(f"{how}: exit {probe.returncode}: {probe.stderr.strip()[-300:]}")
    finally:
        secret.unlink()
    pytest.skip(
        "running as root, and no way to run Python without the right to read every file: "
        + "; ".join(tried)
    )


@pytest.fixture
def open_project():
    """A project in a directory every user can read (for a program that does not run as root)."""
    root = Path(tempfile.mkdtemp(prefix="hotswap-perm-"))
    root.chmod(0o755)
    project = Project(root)
    project.path("driver.py").chmod(0o644)
    yield project
    for program in project.programs:
        program.close()
    shutil.rmtree(root, ignore_errors=True)


def test_permission_denied_is_reported_then_restored_file_applies(open_project):
    """A module the program may no longer read: error ``cannot read the file (Permission
    denied ...)``, the
    program keeps running; permissions restored: nothing to do (same content); then an edit
    applies."""
    project = open_project
    python = unprivileged_python(project.root)
    path = project.write("mod.py", MOD_V1)
    path.chmod(0o644)
    prog = Program(project.root, [*python, "driver.py", "api"])
    project.programs.append(prog)
    prog.exec("import mod")
    prog.watch()
    path.chmod(0)
    report = prog.wait_reload()
    assert len(report["errors"]) == 1 and report["updated"] == [], report
    error = report["errors"][0]
    assert error["path"].endswith("mod.py"), report
    assert "cannot read the file (Permission denied" in error["message"], report
    assert "mod.py: cannot read the file (Permission denied" in prog.stderr
    assert prog.eval("(mod.f(), mod.g())") == ["v1", "g1"]
    path.chmod(0o644)
    no_report_within(prog, 0.5)
    project.write("mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert prog.eval("mod.f()") == "v2"


# --- the watched tree ------------------------------------------------------------------------


def make_loops(directory: Path) -> None:
    """``a.py -> b.py -> a.py``, ``c.py -> c.py``, ``up -> ..`` and ``here -> .``."""
    directory.mkdir()
    os.symlink("b.py", directory / "a.py")
    os.symlink("a.py", directory / "b.py")
    os.symlink("c.py", directory / "c.py")
    os.symlink("..", directory / "up")
    os.symlink(".", directory / "here")


def only_errors_about(reports: list, directory: str) -> None:
    """The loops may be reported as unreadable files, but nothing else may happen."""
    for report in reports:
        assert report["updated"] == report["added"] == report["deleted"] == [], report
        assert all(e["path"].startswith(directory) for e in report["errors"]), report


def test_symlink_loops_in_the_watched_tree(project):
    """Symlink loops present when watching starts (``a -> b -> a``, a file linked to itself,
    directories linked to their parent and to themselves): watching starts promptly, nothing
    hangs, and edits elsewhere apply; more loops made while watching change nothing."""
    project.write("mod.py", MOD_V1)
    make_loops(project.path("loops"))
    prog = project.start()
    prog.exec("import mod")
    started = time.monotonic()
    prog.call("watch", timeout=10, paths=[str(project.root)], debounce_ms=None)
    assert time.monotonic() - started < 5
    project.write("mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert prog.eval("mod.f()") == "v2"
    os.symlink("d.py", project.path("loops/d.py"))
    os.symlink("..", project.path("loops/up2"))
    only_errors_about(drain_reports(prog), "loops")
    assert_good_edit_applies(project, prog)


def test_directory_with_a_parent_symlink_moved_into_the_tree(project, tmp_path):
    """A directory holding ``up -> ..`` moved into the watched tree (a checkout, an unpacked
    archive): the loop is harmless, and the next edit of ``mod.py`` applies."""
    prog = start_watching(project)
    outside = tmp_path / "outside"
    outside.mkdir()
    make_loops(outside / "later")
    os.rename(outside / "later", project.path("later"))
    only_errors_about(drain_reports(prog), "later")
    assert_good_edit_applies(project, prog, timeout=3)


@pytest.mark.parametrize("pause", [0, 0.5])
def test_watched_root_deleted_and_recreated(project, pause):
    """The watched directory ``src/`` is removed and made again (at once, or after the watcher
    has noticed) with the module's new content: the new content applies, and so does a later
    edit."""
    project.write("src/mod.py", MOD_V1)
    prog = project.start()
    prog.exec("import sys; sys.path.insert(0, 'src'); import mod")
    prog.watch("src")
    shutil.rmtree(project.path("src"))
    time.sleep(pause)
    project.write("src/mod.py", MOD_V2)
    prog.wait_until("mod.f()", "v2", timeout=TIMEOUT)
    reports = drain_reports(prog)
    assert all(not r["errors"] and not r["deleted"] for r in reports), reports
    project.write("src/mod.py", MOD_V2.replace('"g1"', '"g2"'))
    report = prog.wait_reload()
    assert report["updated"] == ["mod.g"] and not report["errors"], report
    assert prog.eval("mod.g()") == "g2"


@pytest.mark.parametrize("how", ["plain", "atomic"])
def test_a_thousand_saves_in_a_second(project, how):
    """One file saved 1,000 times within about a second (in place, or by ``os.replace``): the
    last version wins, no error and no exception in the program."""
    prog = start_watching(project, "def f():\n    return -1\n")
    started = time.monotonic()
    for version in range(1000):
        project.write("mod.py", f"def f():\n    return {version}\n", how=how)
        time.sleep(max(0.0, started + version / 1000 - time.monotonic()))
    prog.wait_until("mod.f()", 999)
    reports = drain_reports(prog)
    assert all(not r["errors"] and not r["deleted"] for r in reports), reports
    assert "Traceback" not in prog.stderr and "panic" not in prog.stderr
    project.write("mod.py", "def f():\n    return 'final'\n")
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"], report
    assert prog.eval("mod.f()") == "final"


def test_branch_switch_rewriting_500_files(project):
    """500 imported modules rewritten at once (a git checkout): every function returns the new
    version, reported once each, in at most 10 reports."""
    names = [f"m{i:03d}" for i in range(500)]
    for name in names:
        project.write(f"branch/{name}.py", "def v():\n    return 1\n")
    project.write("branch/__init__.py", "")
    prog = project.start()
    prog.exec(f"import importlib; mods = [importlib.import_module('branch.' + n) for n in {names}]")
    prog.watch()
    for name in names:
        project.path(f"branch/{name}.py").write_text("def v():\n    return 2\n")
    expected = {f"branch.{name}.v" for name in names}
    seen: list = []
    reports = 0
    deadline = time.monotonic() + 30
    while set(seen) != expected:
        assert time.monotonic() < deadline, f"only {len(set(seen))} of 500 updated"
        report = prog.wait_reload(timeout=30)
        assert not report["errors"], report
        seen += report["updated"]
        reports += 1
    assert sorted(seen) == sorted(expected)  # each exactly once
    assert reports <= 10, f"500 files were reported in {reports} batches"
    assert prog.eval("sorted({m.v() for m in mods})") == [2]


def test_file_outside_the_watched_roots_is_never_applied(project):
    """The program imports ``lib/other.py`` but only ``app/`` is watched: editing ``other`` is
    never applied or reported, while an edit under ``app/`` applies."""
    project.write("app/mod.py", MOD_V1)
    project.write("lib/log.py", "events = []\n")
    project.write(
        "lib/other.py",
        'import log\nlog.events.append("other v1")\n\n\ndef h():\n    return "h1"\n',
    )
    prog = project.start()
    prog.exec("import sys; sys.path[:0] = ['app', 'lib']; import mod, other, log")
    prog.watch("app")
    project.write(
        "lib/other.py",
        'import log\nlog.events.append("other v2")\n\n\ndef h():\n    return "h2"\n',
    )
    no_report_within(prog, 1.0)
    assert prog.eval("(other.h(), log.events)") == ["h1", ["other v1"]]
    project.write("app/mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"], report
    assert "other" not in repr(report)
    assert prog.eval("(mod.f(), other.h(), log.events)") == ["v2", "h1", ["other v1"]]


def test_two_watchers_on_overlapping_roots_apply_an_edit_once(project):
    """A watcher on the project and a second one on ``sub/`` inside it: after an edit under
    ``sub/``, the changed statement has run exactly once more, the function is updated, and
    exactly one report (from either watcher) says so."""
    project.write("sub/__init__.py", "")
    project.write("sub/counter.py", "runs = []\n")
    project.write(
        "sub/mod.py",
        'from sub import counter\ncounter.runs.append("v1")\n\n\ndef f():\n    return "v1"\n',
    )
    prog = project.start()
    prog.exec("from sub import counter, mod")
    prog.watch()
    prog.exec("import hotswap; w2 = hotswap.watch('sub')")
    project.write(
        "sub/mod.py",
        'from sub import counter\ncounter.runs.append("v2")\n\n\ndef f():\n    return "v2"\n',
    )
    prog.wait_until("mod.f()", "v2")
    time.sleep(0.5)  # both watchers have handled the save by now
    assert prog.eval("counter.runs") == ["v1", "v2"]
    prog.exec(
        """
        def collect(w):
            updated = []
            while True:
                try:
                    updated.append(w.wait_for_reload(0).updated)
                except TimeoutError:
                    return updated
        """
    )
    reports = prog.eval("collect(watcher) + collect(w2)")
    assert len(reports) == 1 and "sub.mod.f" in reports[0], reports  # applied by one of them
    prog.exec("w2.stop()")
