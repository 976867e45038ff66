"""End-to-end: a real program, real files, the real watcher; assert what the program does next."""

import os

import pytest

SAVE_STYLES = ["plain", "atomic", "vim", "two-step"]

MOD_V1 = """
    calls = 0

    def f():
        global calls
        calls += 1
        return "v1"
"""
MOD_V2 = MOD_V1.replace('"v1"', '"v2"')


@pytest.mark.parametrize("how", SAVE_STYLES)
def test_watcher_applies_every_save_style(project, how):
    project.write("mod.py", MOD_V1)
    prog = project.start()
    prog.exec("import mod; from mod import f; held = f; f()")
    prog.watch()
    project.write("mod.py", MOD_V2, how=how)
    report = prog.wait_reload()
    assert "mod.f" in report["updated"], report
    assert prog.eval("f()") == "v2"
    assert prog.eval("held is mod.f") is True
    assert prog.eval("mod.calls") == 2  # module state survived: calls was not reset


def test_reload_paths_applies_without_watcher(project):
    project.write("mod.py", MOD_V1)
    prog = project.start()
    prog.exec("import mod")
    project.write("mod.py", MOD_V2)
    report = prog.reload("mod.py")
    assert report["updated"] == ["mod.f"]
    assert report["bool"] is True
    assert "updated=['mod.f']" in report["repr"]
    assert prog.eval("mod.f()") == "v2"
    again = prog.reload("mod.py")
    assert again["bool"] is False and again["updated"] == []


def test_every_reference_runs_the_new_code(project):
    project.write(
        "lib.py",
        """
        import functools

        registry = []

        def register(fn):
            registry.append(fn)
            return fn

        def logged(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return "logged:" + fn(*args, **kwargs)
            return wrapper

        @register
        def callback():
            return "old callback"

        @logged
        def decorated(x):
            return f"old {x}"

        def plain():
            return "old plain"

        class Greeter:
            def hello(self, name):
                return f"old hello {name}"
        """,
    )
    project.write(
        "user.py",
        """
        from lib import plain, decorated, Greeter
        alias = plain
        table = {"key": plain}
        """,
    )
    prog = project.start()
    prog.exec(
        """
        import lib, user
        g = lib.Greeter()
        bound = g.hello
        """
    )
    text = project.path("lib.py").read_text().replace('"old ', '"new ').replace('f"old ', 'f"new ')
    project.write("lib.py", text)
    report = prog.reload("lib.py")
    assert set(report["updated"]) == {
        "lib.callback",
        "lib.decorated",
        "lib.plain",
        "lib.Greeter.hello",
    }, report
    assert prog.eval("user.plain()") == "new plain"
    assert prog.eval("user.alias()") == "new plain"
    assert prog.eval("user.table['key']()") == "new plain"
    assert prog.eval("lib.registry[0]()") == "new callback"
    assert prog.eval("len(lib.registry)") == 1  # the decorator did not run again
    assert prog.eval("user.decorated(1)") == "logged:new 1"
    assert prog.eval("bound('ann')") == "new hello ann"
    assert prog.eval("g.hello('bob')") == "new hello bob"


def test_module_level_side_effects_are_not_rerun(project):
    project.write("log.py", "events = []\n")
    project.write(
        "mod.py",
        """
        import log
        log.events.append("imported")
        LIMIT = 1

        def f():
            return LIMIT
        """,
    )
    prog = project.start()
    prog.exec("import mod, log")
    project.write(
        "mod.py",
        """
        import log
        log.events.append("imported")
        LIMIT = 2

        def f():
            return LIMIT * 10
        """,
    )
    report = prog.reload("mod.py")
    assert set(report["updated"]) == {"mod.LIMIT", "mod.f"}
    assert prog.eval("mod.f()") == 20
    assert prog.eval("log.events") == ["imported"]


def test_added_and_deleted_functions(project):
    project.write("mod.py", "def old():\n    return 1\n")
    prog = project.start()
    prog.exec("import mod")
    project.write("mod.py", "def new():\n    return 2\n")
    report = prog.reload("mod.py")
    assert report["added"] == ["mod.new"]
    assert report["deleted"] == ["mod.old"]
    assert prog.eval("mod.new()") == 2
    assert prog.eval("hasattr(mod, 'old')") is False


def test_methods_added_changed_deleted_on_live_instances(project):
    project.write(
        "shapes.py",
        """
        class Square:
            sides = 4

            def __init__(self, size):
                self.size = size

            def area(self):
                return self.size * self.size

            def gone(self):
                return "gone"
        """,
    )
    prog = project.start()
    prog.exec("import shapes; sq = shapes.Square(3); cls = shapes.Square")
    project.write(
        "shapes.py",
        """
        class Square:
            sides = 40

            def __init__(self, size):
                self.size = size

            def area(self):
                return self.size * self.size + 1

            def perimeter(self):
                return self.sides * self.size
        """,
    )
    report = prog.reload("shapes.py")
    assert set(report["updated"]) == {"shapes.Square.sides", "shapes.Square.area"}, report
    assert report["added"] == ["shapes.Square.perimeter"]
    assert report["deleted"] == ["shapes.Square.gone"]
    assert prog.eval("sq.area()") == 10
    assert prog.eval("sq.perimeter()") == 120
    assert prog.eval("hasattr(sq, 'gone')") is False
    assert prog.eval("shapes.Square is cls and isinstance(sq, shapes.Square)") is True


def test_line_shift_fixes_tracebacks_and_getsource(project):
    project.write(
        "mod.py",
        """
        def boom():
            raise ValueError("boom")
        """,
    )
    prog = project.start()
    prog.exec(
        """
        import mod, traceback, inspect
        def boom_line():
            try:
                mod.boom()
            except ValueError as e:
                return traceback.extract_tb(e.__traceback__)[-1].lineno
        """
    )
    assert prog.eval("boom_line()") == 3
    project.write(
        "mod.py",
        """
        # three
        # new
        # lines

        def boom():
            raise ValueError("boom")
        """,
    )
    report = prog.reload("mod.py")
    assert report["moved"] == ["mod.boom"]
    assert report["updated"] == []
    assert prog.eval("boom_line()") == 7
    assert prog.eval("inspect.getsource(mod.boom).splitlines()[0]") == "def boom():"
    assert prog.eval("mod.boom.__code__.co_firstlineno") == 6


def test_changed_function_traceback_shows_new_line_and_text(project):
    project.write("mod.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec("import mod, traceback")
    project.write("mod.py", "\n\ndef f():\n    x = 1\n    raise KeyError('new')\n")
    prog.reload("mod.py")
    prog.exec(
        """
        try:
            mod.f()
        except KeyError as e:
            frame = traceback.extract_tb(e.__traceback__)[-1]
            where = (frame.lineno, frame.line)
        """
    )
    assert prog.eval("where") == [5, "raise KeyError('new')"]


def test_syntax_error_keeps_old_code_then_fix_applies(project):
    project.write("mod.py", MOD_V1)
    prog = project.start()
    prog.exec("import mod")
    prog.watch()
    project.write("mod.py", "def f(:\n    return 'broken'\n")
    report = prog.wait_reload()
    assert report["errors"], report
    error = report["errors"][0]
    assert error["path"].endswith("mod.py") and error["line"] == 1
    assert "syntax" in error["message"].lower()
    assert prog.eval("mod.f()") == "v1"
    project.write("mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == ["mod.f"] and not report["errors"]
    assert prog.eval("mod.f()") == "v2"


def test_failing_statement_is_reported_and_retried(project):
    project.write("mod.py", "X = 1\n")
    prog = project.start()
    prog.exec("import mod")
    project.write("mod.py", "X = 1 / 0\n")
    report = prog.reload("mod.py")
    assert report["errors"] and "ZeroDivisionError" in report["errors"][0]["message"]
    assert report["errors"][0]["line"] == 1
    assert prog.eval("mod.X") == 1
    project.write("mod.py", "X = 1 / 1\n")
    assert prog.reload("mod.py")["updated"] == ["mod.X"]
    assert prog.eval("mod.X") == 1.0


def test_failed_statement_is_retried_by_an_edit_elsewhere(project):
    """The next save retries a failed step even when it edits another item: the tree its
    failed items were marked in is parsed again in full, not incrementally."""
    source = (
        "import pathlib\n"
        "X = pathlib.Path(__file__).with_name('flag.txt').read_text()\n\n\n"
        "def f():\n    return {}\n"
    )
    project.write("mod.py", "X = 'none'\n\n\ndef f():\n    return 0\n")
    prog = project.start()
    prog.exec("import mod")
    project.write("mod.py", source.format(1))
    report = prog.reload("mod.py")
    assert report["errors"] and "FileNotFoundError" in report["errors"][0]["message"]
    project.write("flag.txt", "ready")
    project.write("mod.py", source.format(2))
    report = prog.reload("mod.py")
    assert not report["errors"]
    assert prog.eval("mod.X") == "ready"
    assert prog.eval("mod.f()") == 2


def test_nested_closures_get_new_code(project):
    project.write(
        "mod.py",
        """
        def make(n):
            def add(x):
                return x + n
            return add
        """,
    )
    prog = project.start()
    prog.exec("import mod; add2 = mod.make(2)")
    project.write(
        "mod.py",
        """
        def make(n):
            def add(x):
                return x + n * 100
            return add
        """,
    )
    prog.reload("mod.py")
    assert prog.eval("add2(1)") == 201  # a closure made before the edit
    assert prog.eval("mod.make(3)(1)") == 301  # and one made after


def test_signature_defaults_and_docstring_update(project):
    project.write("mod.py", 'def f(a, b=1, *, c=2):\n    "old doc"\n    return (a, b, c)\n')
    prog = project.start()
    prog.exec("import mod; g = mod.f")
    project.write("mod.py", 'def f(a, b=10, *, c=20):\n    "new doc"\n    return (a, b, c)\n')
    report = prog.reload("mod.py")
    assert report["updated"] == ["mod.f"]
    assert prog.eval("g(0)") == [0, 10, 20]
    assert prog.eval("g.__doc__") == "new doc"


def test_currently_reloading_guards_state(project):
    project.write(
        "mod.py",
        """
        import hotswap
        if not hotswap.currently_reloading():
            started = "first import"
        seen = hotswap.currently_reloading()
        """,
    )
    prog = project.start()
    prog.exec("import mod")
    assert prog.eval("mod.seen") is False
    project.write(
        "mod.py",
        """
        import hotswap
        if not hotswap.currently_reloading():
            started = "first import"
        seen = bool(hotswap.currently_reloading())
        """,
    )
    prog.reload("mod.py")
    assert prog.eval("mod.seen") is True
    assert prog.eval("mod.started") == "first import"
    assert prog.eval("mod.hotswap.currently_reloading()") is False


def test_main_guard_is_not_rerun(project):
    project.write(
        "mod.py",
        """
        runs = []
        if __name__ == "__main__":
            runs.append(1)
        """,
    )
    prog = project.start()
    prog.exec("import mod")
    project.write(
        "mod.py",
        """
        runs = []
        if __name__ == "__main__":
            runs.append(2)
        """,
    )
    report = prog.reload("mod.py")
    assert any("__main__" in note for note in report["notes"]), report
    assert prog.eval("mod.runs") == []


def test_deleted_file_keeps_module_running(project):
    project.write("mod.py", MOD_V1)
    prog = project.start()
    prog.exec("import mod")
    project.path("mod.py").unlink()
    report = prog.reload("mod.py")
    assert report["bool"] is False
    assert any("deleted" in note for note in report["notes"])
    assert prog.eval("mod.f()") == "v1"
    project.write("mod.py", MOD_V2)
    assert prog.reload("mod.py")["updated"] == ["mod.f"]


def test_file_changed_before_watch_starts_is_diffed_from_what_runs(project):
    project.write("mod.py", MOD_V1)
    prog = project.start()  # the api driver calls hotswap.install() first
    prog.exec("import mod")
    project.write("mod.py", MOD_V2)
    prog.watch()
    project.write("mod.py", MOD_V2 + "\n    def extra():\n        return 3\n")
    report = prog.wait_reload()
    assert set(report["updated"]) == {"mod.f"} and report["added"] == ["mod.extra"], report
    assert prog.eval("mod.f()") == "v2"


def test_two_files_in_one_batch(project):
    project.write("a.py", "def fa():\n    return 'a1'\n")
    project.write("b.py", "def fb():\n    return 'b1'\n")
    prog = project.start()
    prog.exec("import a, b")
    project.write("a.py", "def fa():\n    return 'a2'\n")
    project.write("b.py", "def fb():\n    return 'b2'\n")
    report = prog.call("reload", paths=[str(project.path("a.py")), str(project.path("b.py"))])[
        "report"
    ]
    assert set(report["updated"]) == {"a.fa", "b.fb"}
    assert prog.eval("(a.fa(), b.fb())") == ["a2", "b2"]


def test_package_module_names_in_reports(project):
    project.write("pkg/__init__.py", "")
    project.write("pkg/mod.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec("import pkg.mod")
    prog.watch()
    project.write("pkg/mod.py", "def f():\n    return 2\n")
    report = prog.wait_reload()
    assert report["updated"] == ["pkg.mod.f"]


def test_report_names_its_modules_and_sums_itself_up_in_one_line(project):
    """``modules`` and ``summary()``: what the CLI, --loop, --test, pytest and IPython show."""
    project.write("pkg/__init__.py", "")
    project.write("pkg/mod.py", "class C:\n    def m(self):\n        return 1\n")
    project.write("a.py", "".join(f"def f{i}():\n    return 1\n" for i in range(5)))
    prog = project.start()
    prog.exec("import pkg.mod, a")
    project.write("pkg/mod.py", "class C:\n    def m(self):\n        return 2\n")
    project.write("a.py", "".join(f"def f{i}():\n    return 2\n" for i in range(5)))
    report = prog.reload("pkg/mod.py", "a.py")
    assert sorted(report["modules"]) == ["a", "pkg.mod"]
    assert report["summary"].startswith("updated ")
    assert report["summary"].endswith(" and 3 more"), report["summary"]
    project.write("a.py", "def f0(:\n")
    report = prog.reload("a.py")
    assert report["modules"] == []
    first = report["errors"][0]
    more = f" (and {len(report['errors']) - 1} more)" if len(report["errors"]) > 1 else ""
    where = f"{first['path']}:{first['line']}" if first["line"] else first["path"]
    assert report["summary"] == f"failed: {where}: {first['message']}{more}", report
    project.write("a.py", "def f0():\n    return 3\n\ndef g():\n    return 0\n")
    report = prog.reload("a.py")
    assert report["summary"].startswith("updated a.f0; added a.g; deleted "), report["summary"]
    assert prog.reload("a.py")["summary"] == "nothing changed"


def test_large_module_recorded_at_import_then_edited(project):
    """Large sources are parsed when recorded (off the program's thread); edits still apply
    against what runs, including one saved right after the import."""
    body = "".join(f"def f_{i}(x):\n    return x + {i}\n\n" for i in range(4000))
    project.write("big.py", body + "def probe():\n    return 0\n")
    assert len(project.path("big.py").read_bytes()) > 64 * 1024
    prog = project.start()
    prog.exec("import big")
    project.write("big.py", "X = 1\n" + body + "def probe():\n    return 1\n")
    report = prog.reload("big.py")
    assert report["updated"] == ["big.probe"] and report["added"] == ["big.X"], report
    assert prog.eval("big.probe()") == 1
    assert prog.eval("big.f_3999.__code__.co_firstlineno") == 2 + 3 * 3999
    assert prog.eval("big.f_7(1)") == 8


def test_edits_find_modules_imported_or_replaced_after_the_first_batch(project):
    """Batches look modules up by name from the last pass over sys.modules; a module object
    replaced under the same name, or a module imported since, still gets the edit."""
    project.write("mod.py", MOD_V1)
    project.write("other.py", "def g():\n    return 1\n")
    prog = project.start()
    prog.exec("import mod")
    project.write("mod.py", MOD_V2)
    assert prog.reload("mod.py")["updated"] == ["mod.f"]
    # Same name, new module object (sys.modules keeps its length).
    prog.exec("import sys; old = sys.modules.pop('mod'); import mod; assert mod is not old")
    project.write("mod.py", MOD_V1.replace('"v1"', '"v3"'))
    assert prog.reload("mod.py")["updated"] == ["mod.f"]
    assert prog.eval("mod.f()") == "v3"
    # Imported after the last pass.
    prog.exec("import other")
    project.write("other.py", "def g():\n    return 2\n")
    assert prog.reload("other.py")["updated"] == ["other.g"]
    assert prog.eval("other.g()") == 2


def test_module_imported_by_an_edit_gets_later_edits(project):
    """A batch may import modules (an added import statement runs): they are not in the
    module index yet, and the next edit to one of them still applies."""
    project.write("mod.py", MOD_V1)
    project.write("helper.py", "def h():\n    return 1\n")
    prog = project.start()
    prog.exec("import mod")
    project.write("mod.py", "\n    import helper\n" + MOD_V1)
    prog.reload("mod.py")
    assert prog.eval("mod.helper.h()") == 1
    project.write("helper.py", "def h():\n    return 2\n")
    assert prog.reload("helper.py")["updated"] == ["helper.h"]
    assert prog.eval("mod.helper.h()") == 2


def test_a_files_compile_hook_compiles_its_units_and_a_bad_one_rejects_the_edit(project):
    project.write("mod.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec(
        """
        import mod
        from hotswap import _core

        units = []

        def hook(source, filename, flags):
            units.append(source)
            return compile(source.replace("return 2", "return 20"), filename, "exec", flags, True)

        _core.set_compile_hook(mod.__file__, hook)
        """
    )
    project.write("mod.py", "def f():\n    return 2\n")
    assert prog.reload("mod.py")["updated"] == ["mod.f"]
    assert prog.eval("mod.f()") == 20
    assert prog.eval("units") == ["def f():\n    return 2\n"]
    prog.exec("_core.set_compile_hook(mod.__file__, lambda source, filename, flags: None)")
    project.write("mod.py", "def f():\n    return 3\n")
    message = prog.reload("mod.py")["errors"][0]["message"]
    assert "the compile hook of" in message and "not a code object" in message
    assert prog.eval("mod.f()") == 20  # the edit was rejected whole
    prog.exec("_core.set_compile_hook(mod.__file__, None)")
    assert prog.reload("mod.py")["updated"] == ["mod.f"]
    assert prog.eval("mod.f()") == 3


def test_the_parser_s_records_imports_definitions_and_display_path(tmp_path, monkeypatch):
    from hotswap import _core

    source = "from ..pkg import a as b, c\nimport x.y\nfrom . import *\n\n"
    source += "class K:\n    def m(self):\n        pass\n"
    (tmp_path / "mod.py").write_text(source)
    found = [(i.level, i.module, i.names) for i in _core.imports(str(tmp_path / "mod.py"))]
    assert found == [(2, "pkg", ["a", "c"]), (0, "x.y", []), (1, "", ["*"])]
    first = _core.imports(str(tmp_path / "mod.py"))[0]
    assert first.modules("top.sub.mod", False) == ["top.pkg.a", "top.pkg.c", "top.pkg"]
    assert _core.imports(str(tmp_path / "missing.py")) == []
    method = [d for d in _core.definitions(source) if d.name == "K.m"][0]
    assert (method.kind, method.first_line, method.last_line, method.indent) == (
        "function",
        6,
        7,
        "    ",
    )
    assert source[method.start : method.end] == "def m(self):\n        pass"
    monkeypatch.chdir(tmp_path)
    assert _core.display_path(str(tmp_path / "mod.py")) == "mod.py"
    assert _core.display_path("/elsewhere/x.py") == "/elsewhere/x.py"


def test_a_same_size_edit_in_the_same_second_is_not_run_from_a_stale_pyc(tmp_path):
    # Python trusts a .pyc whose source has the same size and mtime (whole seconds): the late Dask
    # worker of tests/test_cluster_dask.py imported "v1" bytecode while "v2" was recorded.
    import subprocess
    import sys
    import time

    source = tmp_path / "m.py"
    source.write_text("X = 'v1'\n")
    now = time.time()
    os.utime(source, (now, now))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import m"], cwd=tmp_path, check=True, env=env)
    assert list((tmp_path / "__pycache__").glob("m.*.pyc")), "the .pyc of v1 was written"
    source.write_text("X = 'v2'\n")
    os.utime(source, (now, now))
    probe = "import hotswap; hotswap.install('.'); import m; print(m.X)"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.stdout.strip() == "v2"
