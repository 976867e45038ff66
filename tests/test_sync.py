"""Sync modes: when a settled edit is applied, and on which thread."""

import time

from conftest import run_cli


def test_manual_mode_waits_for_poll(project):
    project.write("m.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec(
        """
        import hotswap, m
        w = hotswap.watch(".", sync="manual")
        """
    )
    project.write("m.py", "def f():\n    return 2\n")
    time.sleep(0.5)  # long past the watcher's settle time
    assert prog.eval("m.f()") == 1
    prog.exec("r = hotswap.poll()")
    assert prog.eval("(list(r.updated), bool(r))") == [["m.f"], True]
    assert prog.eval("m.f()") == 2
    assert prog.eval("bool(hotswap.poll())") is False


def test_manual_mode_merges_waiting_saves(project):
    project.write("m.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec("import hotswap, m; w = hotswap.watch('.', sync='manual')")
    for version in (2, 3, 4):
        project.write("m.py", f"def f():\n    return {version}\n")
        time.sleep(0.2)
    prog.exec("r = hotswap.poll()")
    assert prog.eval("m.f()") == 4
    assert prog.eval("list(r.updated)") == ["m.f"]


def test_main_mode_applies_on_the_main_thread(project):
    project.write("m.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec(
        """
        import hotswap, m, threading
        seen = []
        w = hotswap.watch(
            ".", sync="main", on_reload=lambda r: seen.append(threading.current_thread().name)
        )
        """
    )
    project.write("m.py", "def f():\n    return 2\n")
    prog.wait_until("m.f()", 2)  # each command runs bytecode on the main thread
    prog.wait_until("seen", ["MainThread"])


def test_immediate_mode_applies_from_the_watcher_thread(project):
    project.write("m.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec(
        """
        import hotswap, m, threading
        seen = []
        w = hotswap.watch(".", on_reload=lambda r: seen.append(threading.current_thread().name))
        """
    )
    project.write("m.py", "def f():\n    return 2\n")
    prog.wait_until("m.f()", 2)
    prog.wait_until("len(seen)", 1)
    assert prog.eval("seen[0] != 'MainThread'") is True


def test_cli_sync_option(project):
    project.write("m.py", "def f():\n    return 1\n")
    project.write(
        "game.py",
        """
        import pathlib, time, hotswap, m
        pathlib.Path("m.py").write_text("def f():\\n    return 2\\n")
        time.sleep(0.5)
        print("before poll", m.f())
        for _ in range(100):
            if hotswap.poll():
                break
            time.sleep(0.02)
        print("after poll", m.f())
        """,
    )
    result = run_cli(["--sync", "manual", "game.py"], cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["before poll 1", "after poll 2"]
    bad = run_cli(["--sync", "later", "game.py"], cwd=project.root)
    assert bad.returncode == 2 and "--sync: expected immediate, main or manual" in bad.stderr
