"""What the import hook records, and what hotswap's start costs a program.

A module imported from a valid `.pyc` is recorded from its file by the recorder thread, which
checks that the file's stat is still the one the `.pyc` was validated against; a file written
in the last seconds is compiled from the bytes read, and those are recorded (the same-second
`.pyc` case is in test_engine.py). Starting hotswap must not import modules a program does not
need (each costs every program milliseconds).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time

import pytest

MOD_V1 = "def f():\n    return 'v1'\n"
MOD_V2 = "def f():\n    return 'v2'\n"
MOD_V3 = "def f():\n    return 'v2'\n\n\ndef extra():\n    return 3\n"
RECENT_SECONDS = 2.0  # hotswap._importhook.RECENT_SECONDS


def _cache_bytecode_and_age(root, names, directory=None):
    """Writes each module's `.pyc` (as a first run of the program would), then waits until the
    files (and ``directory``, whose `__pycache__` was just made) are old enough for the hook to
    trust their `.pyc` (and the recorder to keep the directory's listing)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = "import " + ", ".join(names)
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, env=env, timeout=60)
    paths = [root / (name.replace(".", "/") + ".py") for name in names]
    assert all(path.with_name("__pycache__").is_dir() for path in paths)
    newest = max(os.stat(path).st_ctime for path in paths)
    if directory is not None:
        newest = max(newest, os.stat(directory).st_mtime)
    while time.time() - newest <= RECENT_SECONDS + 0.1:
        time.sleep(0.05)


def test_a_module_run_from_its_pyc_and_edited_before_watch_is_diffed_from_what_was_imported(
    project,
):
    project.write("mod.py", MOD_V1)
    _cache_bytecode_and_age(project.root, ["mod"])
    prog = project.start()  # the api driver calls hotswap.install() first
    prog.exec("import hotswap, mod")
    assert prog.eval("mod.f()") == "v1"
    assert prog.eval("hotswap._core.recorded_source(mod.__file__)") == MOD_V1
    project.write("mod.py", MOD_V2)  # not watched yet: the program still runs v1
    prog.watch()
    project.write("mod.py", MOD_V3)
    report = prog.wait_reload()
    # Diffed against v1, the text that runs: f changed too, not only extra added.
    assert report["updated"] == ["mod.f"] and report["added"] == ["mod.extra"], report
    assert prog.eval("(mod.f(), mod.extra())") == ["v2", 3]


def test_a_module_whose_file_changed_before_hotswap_read_it_is_reported_not_misapplied(project):
    """The recorder reads a `.pyc`-run module's file after its import; if the file changed in
    between, what the module runs is unknown: its first save is reported, later ones apply."""
    project.write("mod.py", MOD_V1)
    _cache_bytecode_and_age(project.root, ["mod"])
    prog = project.start()
    # As the hook queues it: the stat the `.pyc` was validated against, taken at the import.
    prog.exec(
        """
        import os, hotswap
        st = os.stat("mod.py")
        stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        path = os.path.abspath("mod.py")
        import mod
        """
    )
    project.write("mod.py", MOD_V2 + "# written before hotswap read it\n")
    prog.exec("hotswap._core.queue_source(path, None, stamp)")  # the import's stat, now stale
    assert prog.eval("hotswap._core.recorded_source(path)") is None
    prog.watch()  # records the loaded modules it has no record of: not this one
    project.write("mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == [], report
    [error] = report["errors"]
    assert "changed while the module was being imported" in error["message"], error
    assert prog.eval("mod.f()") == "v1"
    project.write("mod.py", MOD_V3)
    report = prog.wait_reload()
    assert report["added"] == ["mod.extra"] and not report["errors"], report


def test_a_stamp_that_still_matches_records_the_file(project):
    project.write("mod.py", MOD_V1)
    _cache_bytecode_and_age(project.root, ["mod"])
    prog = project.start()
    prog.exec(
        """
        import os, hotswap
        st = os.stat("mod.py")
        path = os.path.abspath("mod.py")
        stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        hotswap._core.queue_source(path, None, stamp)
        """
    )
    assert prog.eval("hotswap._core.recorded_source(path)") == MOD_V1


def _modules_after(argv, cwd, env=None) -> set:
    out = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=60, env=env, check=True
    )
    return set(out.stdout.split())


def test_hotswap_adds_few_modules_to_a_program_start(tmp_path):
    """Each of these costs every program ~1-10 ms at start; they are imported when needed."""
    (tmp_path / "prog.py").write_text(
        # As the benchmark's program, which imports its modules with importlib.
        "import importlib, sys\nprint(' '.join(sorted(sys.modules)))\n",
        encoding="utf-8",
    )
    plain = _modules_after([sys.executable, "prog.py"], tmp_path)
    (tmp_path / "api.py").write_text(
        "import importlib, sys, hotswap\nhotswap.install('.')\nhotswap.watch('.')\n"
        "print(' '.join(sorted(sys.modules)))\n",
        encoding="utf-8",
    )
    api = _modules_after([sys.executable, "api.py"], tmp_path)
    cli = _modules_after([sys.executable, "-m", "hotswap", "prog.py"], tmp_path)
    # `python -m` itself imports runpy and what it needs (3.9: re, typing too).
    run_as_module = _modules_after([sys.executable, "-m", "prog"], tmp_path)
    costly = {
        "threading",
        "functools",
        "collections",
        "inspect",
        "ast",
        "tokenize",
        "typing",
        "traceback",
        "linecache",
        "code",
        "ctypes",
        "shutil",
        "logging",
        "re",
        "copy",
    }
    assert (api - plain) & costly == set()
    assert (cli - run_as_module) & costly == set()


def test_frameworks_are_adjusted_through_their_own_directories_only(tmp_path):
    """The hook that turns restart reloaders off is asked once per directory, and only about
    the directories of the frameworks installed: other imports do not go through it."""
    probe = (
        "import sys, hotswap._frameworks as f\n"
        "if sys.argv[1] == 'none':\n"
        "    sys.path[:] = [p for p in sys.path if '-packages' not in p]\n"
        "f.install()\n"
        "hooks = [h for h in sys.path_hooks if isinstance(h, f._PathHook)]\n"
        "print(sorted(n for h in hooks for d in h.directories.values() for n in d))\n"
        "print(any(type(finder).__module__ == f.__name__ for finder in sys.meta_path))\n"
    )
    (tmp_path / "probe.py").write_text(probe, encoding="utf-8")
    results = {}
    for case in ("none", "all"):
        out = subprocess.run(
            [sys.executable, "probe.py", case], cwd=tmp_path, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        results[case] = out.stdout.split("\n")[:2]
    frameworks = ("django", "werkzeug", "uvicorn", "fastapi", "flask")
    installed = [name for name in frameworks if importlib.util.find_spec(name) is not None]
    assert results["none"] == ["[]", "False"]
    names = eval(results["all"][0])
    assert {name.partition(".")[0] for name in names} == set(installed)
    assert results["all"][1] == "False"  # nothing on sys.meta_path


def test_a_module_imported_through_a_symbolic_link_is_recorded_under_its_target(project):
    """The recorder resolves each directory once and knows its links from a listing kept until
    the directory changes: a module file that is a link is still recorded under the file it
    points to, so a save of that file applies to the module."""
    project.write("real/real_mod.py", MOD_V1)
    project.write("links/__init__.py", "")
    os.symlink(os.path.join("..", "real", "real_mod.py"), project.path("links/mod.py"))
    _cache_bytecode_and_age(project.root, ["links.mod"], project.path("links"))
    prog = project.start()
    prog.exec("import hotswap, links.mod as mod")
    real = str(project.path("real/real_mod.py").resolve())
    assert prog.eval(f"hotswap._core.recorded_source({real!r})") == MOD_V1
    prog.watch()
    project.write("real/real_mod.py", MOD_V2)
    report = prog.wait_reload()
    assert report["updated"] == ["links.mod.f"], report
    assert prog.eval("mod.f()") == "v2"


def test_a_module_in_a_directory_whose_name_is_not_utf8_imports_under_the_hook(tmp_path):
    """File names are bytes on Linux: the hook passes paths to the extension as paths."""
    directory = os.fsencode(tmp_path) + b"/dir\xff"
    os.mkdir(directory)
    with open(directory + b"/m.py", "w", encoding="utf-8") as f:
        f.write("X = 1\n")
    probe = (
        "import os, sys, hotswap\n"
        "hotswap.install('.')\n"
        "sys.path.insert(0, os.fsdecode(os.fsencode(os.getcwd()) + b'/dir\\xff'))\n"
        "import m\n"
        "print(m.X)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (out.returncode, out.stdout.strip()) == (0, "1"), out.stderr


def test_pkgutil_still_lists_the_modules_of_a_framework_package(tmp_path):
    probe = (
        "import pkgutil, sys, hotswap._frameworks as f\n"
        "f.install()\n"
        "import werkzeug\n"
        "print(sorted(m.name for m in pkgutil.iter_modules(werkzeug.__path__)))\n"
    )
    if importlib.util.find_spec("werkzeug") is None:
        pytest.skip("werkzeug is not installed")
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "serving" in out.stdout.split("'")
