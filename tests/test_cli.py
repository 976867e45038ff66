"""The command line behaves like ``python`` and makes the program live."""

import subprocess
import sys
import textwrap

import pytest
from conftest import run_cli


def test_script_runs_like_python(project):
    project.write(
        "script.py",
        """
        import sys, os
        print("name", __name__)
        print("argv", sys.argv)
        print("path0", os.path.basename(sys.path[0]))
        sys.exit(3)
        """,
    )
    result = run_cli(["script.py", "a", "--b"], cwd=project.root)
    assert result.returncode == 3, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "name __main__"
    assert lines[1] == "argv ['script.py', 'a', '--b']"
    assert lines[2] == f"path0 {project.root.name}"


def test_options_end_at_the_script_whose_arguments_pass_through(project):
    project.write("script.py", "import sys\nprint(sys.argv)\n")
    args = ["--debounce=5", "--sync", "main", "-w", ".", "-q", "script.py"]
    result = run_cli([*args, "--debounce", "-5", "-h", "--", "x"], cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['script.py', '--debounce', '-5', '-h', '--', 'x']\n"
    result = run_cli(["--", "script.py", "--version"], cwd=project.root)
    assert result.stdout == "['script.py', '--version']\n", result.stderr


def test_uncaught_exception_printed_like_python(project):
    project.write(
        "crash.py",
        """
        def inner():
            raise RuntimeError("bad thing")

        inner()
        """,
    )
    ours = run_cli(["crash.py"], cwd=project.root)
    theirs = subprocess.run(
        [sys.executable, "crash.py"], cwd=project.root, capture_output=True, text=True
    )
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr.splitlines()[-1] == "RuntimeError: bad thing"
    tb = [line for line in ours.stderr.splitlines() if line.startswith("  File")]
    expected = [line for line in theirs.stderr.splitlines() if line.startswith("  File")]
    assert tb == expected


def test_failing_import_in_a_script_shows_no_import_machinery(project):
    """hotswap's import hook sits between importlib's frames: they are hidden as python does."""
    project.write("helper.py", "def broken():\n    raise ValueError('bad config')\n\nbroken()\n")
    project.write("script.py", "import helper\n")
    ours = run_cli(["script.py"], cwd=project.root)
    theirs = subprocess.run(
        [sys.executable, "script.py"], cwd=project.root, capture_output=True, text=True
    )
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr == theirs.stderr


def test_module_mode_and_function_mode(project):
    project.write("pkg/__init__.py", "")
    project.write(
        "pkg/tool.py",
        """
        import sys
        def main():
            print("main called", sys.argv[1:])
            return 5
        if __name__ == "__main__":
            print("as main", sys.argv[1:])
        """,
    )
    result = run_cli(["-m", "pkg.tool", "x"], cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "as main ['x']"
    result = run_cli(["-m", "pkg.tool:main", "y"], cwd=project.root)
    assert result.returncode == 5, result.stderr
    assert result.stdout.strip() == "main called ['y']"


def test_version_and_help(project):
    result = run_cli(["--version"], cwd=project.root)
    assert result.returncode == 0 and result.stdout.startswith("hotswap ")
    result = run_cli(["--help"], cwd=project.root)
    assert result.returncode == 0 and "usage: hotswap" in result.stdout
    result = run_cli(["--bogus"], cwd=project.root)
    assert result.returncode == 2 and "unknown option --bogus" in result.stderr


def test_help_is_grouped_and_points_at_the_other_ways_in(project):
    result = run_cli(["--help"], cwd=project.root)
    assert result.returncode == 0, result.stderr
    for heading in ("what to run:", "watching:", "the running program:", "output:"):
        assert f"\n{heading}\n" in result.stdout
    for pointer in ("pytest --reload-loop", "%load_ext hotswap", "hotswap.watch"):
        assert pointer in result.stdout
    assert "hotswap.reload_paths" in result.stdout and "hotswap.patch" in result.stdout
    from hotswap.__main__ import OPTIONS

    for option in OPTIONS:
        assert all(name in result.stdout for name in option.names), option.names


def test_every_option_is_in_the_readme():
    """The README's options paragraph and the option table say the same."""
    from pathlib import Path

    from hotswap.__main__ import OPTIONS
    from hotswap._attach import OPTIONS as ATTACH_OPTIONS

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for option in (*OPTIONS, *ATTACH_OPTIONS):
        for name in option.names:
            assert f"`{name}" in readme or f"/{name}`" in readme or f"/{name} " in readme, name


BAD_COMMAND_LINES = [
    (["--debounce", "-5"], "--debounce: expected milliseconds, a finite number >= 0; got '-5'"),
    (["--debounce", "nan"], "--debounce: expected milliseconds, a finite number >= 0; got 'nan'"),
    (["--debounce=inf"], "--debounce: expected milliseconds, a finite number >= 0; got 'inf'"),
    (["--debounce", "abc"], "--debounce: expected milliseconds, a finite number >= 0; got 'abc'"),
    (["--debounce"], "--debounce: missing value; expected milliseconds, a finite number >= 0"),
    (["--sync", "later"], "--sync: expected immediate, main or manual; got 'later'"),
    (["--on-rude=never"], "--on-rude: expected warn or restart; got 'never'"),
    (["--bogus", "x.py"], "unknown option --bogus (see --help for the options)"),
    (["--no-children=yes"], "--no-children takes no value; got 'yes'"),
    (["-w", "nowhere", "x.py"], "-w: expected an existing directory or file; got 'nowhere'"),
    (["--test", "tests -k 'a"], "--test: expected pytest arguments as one shell-quoted string"),
    (["-m", "pkg:"], "-m: expected module or module:function; got 'pkg:'"),
    (["--loop", "app"], "--loop: expected module:function; got 'app'"),
    (["--loop"], "--loop: missing value; expected module:function"),
    (["--loop", "nomod:f"], "--loop: no module named 'nomod'"),
    (["--loop", "app:nofunc"], "--loop: module 'app' has no function 'nofunc'"),
    (["--loop", "app:VALUE"], "--loop: app:VALUE is not a function (it is of type int)"),
    (["-m", "nomod"], "-m: no module named 'nomod'"),
    (["-m", "nomod:f"], "-m: no module named 'nomod'"),
    (["-m", "pkg"], "-m: 'pkg' is a package without a __main__ module to run"),
    (["-m", "app:nofunc"], "-m: module 'app' has no function 'nofunc'"),
    (["--revert-on-fail", "app.py"], "--revert-on-fail needs --test"),
    (["attach", "--timeout", "0", "1"], "--timeout: expected seconds, a finite number > 0"),
    (["attach", "--timeout", "soon", "1"], "--timeout: expected seconds, a finite number > 0"),
    (["attach", "-w", "nowhere", "1"], "-w: expected an existing directory; got 'nowhere'"),
    (["attach", "--watch"], "--watch: missing value; expected an existing directory"),
    (["attach", "--bogus", "1"], "unknown option --bogus"),
    (["attach", "12ab"], "PID: expected a process id, a whole number; got '12ab'"),
    (["attach", "1", "2"], "unexpected argument '2' (one PID only)"),
]


@pytest.mark.parametrize(
    "args, message", BAD_COMMAND_LINES, ids=[" ".join(args) for args, _ in BAD_COMMAND_LINES]
)
def test_a_bad_command_line_is_one_line_and_status_2(project, args, message):
    project.write("app.py", "VALUE = 1\ndef main():\n    print('ran')\n")
    project.write("pkg/__init__.py", "")
    result = run_cli(args, cwd=project.root)
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    prog = "hotswap attach" if args[0] == "attach" else "hotswap"
    assert lines[0].startswith(f"{prog}: ") and message in lines[0], (lines[0], message)


@pytest.mark.parametrize("option", ["--loop", "-m"])
def test_an_error_importing_the_users_module_shows_only_the_users_frames(project, option):
    project.write(
        "app.py",
        """
        import helper

        def main():
            return 0
        """,
    )
    project.write("helper.py", "def broken():\n    raise ValueError('bad config')\n\nbroken()\n")
    ours = run_cli([option, "app:main"], cwd=project.root)
    theirs = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=project.root, capture_output=True, text=True
    )
    assert ours.returncode == 1, ours.stderr
    assert ours.stderr.splitlines()[-1] == "ValueError: bad config"
    frames = [line for line in ours.stderr.splitlines() if line.startswith("  File")]
    expected = [line for line in theirs.stderr.splitlines() if line.startswith("  File")]
    assert frames == expected[1:]  # python's first frame is the -c string
    assert "hotswap" not in ours.stderr and "importlib" not in ours.stderr


def test_dash_m_package_applies_the_first_save_of_its_main(project):
    """`hotswap -m pkg` records pkg/__main__.py (the file that runs), not pkg/__init__.py."""
    project.write("pkg/__init__.py", "")
    project.write(
        "pkg/__main__.py",
        """
        import sys, time

        def message():
            return "before"

        for _ in range(3000):
            print(message(), flush=True)
            if message() == "after":
                sys.exit(0)
            time.sleep(0.02)
        sys.exit(1)
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotswap", "-m", "pkg"],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "before"
        main = project.path("pkg/__main__.py")
        main.write_text(main.read_text().replace('return "before"', 'return "after"'))
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "after" in out
    assert "imported before hotswap.install()" not in err
    assert "updated __main__.message" in err


def test_missing_script(project):
    result = run_cli(["nope.py"], cwd=project.root)
    assert result.returncode == 2
    assert "can't open file 'nope.py'" in result.stderr


def test_live_edit_under_cli_is_logged(project):
    project.write("mod.py", "def f():\n    return 1\n")
    prog = project.start(cli=True, cli_args=("-v",))
    prog.exec("import mod")
    project.write("mod.py", "\ndef f():\n    return 2\n", how="atomic")
    prog.wait_until("mod.f()", 2)
    prog.wait_until("'updated mod.f (mod.py:2)' in open('.stderr.log').read()", True)
    assert "watching" in prog.stderr


def test_cli_script_itself_is_live(project):
    project.write(
        "loop.py",
        """
        import sys, time

        def message():
            return "before"

        for _ in range(3000):
            print(message(), flush=True)
            if message() == "after":
                sys.exit(0)
            time.sleep(0.02)
        sys.exit(1)
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotswap", "loop.py"],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "before"
        source = project.path("loop.py").read_text().replace('return "before"', 'return "after"')
        project.path("loop.py").write_text(source)
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "after" in out
    assert "updated __main__.message" in err


def test_quiet_hides_updates(project):
    script = textwrap.dedent(
        """
        import time, pathlib
        p = pathlib.Path("other.py")
        import other
        p.write_text("def g():\\n    return 2\\n")
        for _ in range(500):
            if other.g() == 2:
                break
            time.sleep(0.01)
        print(other.g())
        """
    )
    project.write("other.py", "def g():\n    return 1\n")
    project.write("main.py", script)
    result = run_cli(["-q", "main.py"], cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
    assert "updated" not in result.stderr


def test_interactive_after_script_is_live(project):
    project.write("mod.py", "def f():\n    return 1\n")
    project.write("script.py", "import mod\nvalue = mod.f()\n")
    commands = textwrap.dedent(
        """
        print("value", value)
        import pathlib, time
        _ = pathlib.Path("mod.py").write_text("def f():\\n    return 2\\n")
        for _ in range(500):
            if mod.f() == 2: break
            time.sleep(0.01)

        print("now", mod.f())
        """
    )
    result = run_cli(["-i", "script.py"], cwd=project.root, input=commands)
    assert result.returncode == 0, result.stderr
    assert "value 1" in result.stdout
    assert "now 2" in result.stdout


def test_repl_without_arguments_is_live(project):
    project.write("mod.py", "def f():\n    return 'old'\n")
    commands = textwrap.dedent(
        """
        import mod, pathlib, time, sys
        print("argv", sys.argv)
        _ = pathlib.Path("mod.py").write_text("def f():\\n    return 'new'\\n")
        for _ in range(500):
            if mod.f() == 'new': break
            time.sleep(0.01)

        print("repl sees", mod.f())
        """
    )
    result = run_cli([], cwd=project.root, input=commands)
    assert result.returncode == 0, result.stderr
    assert "argv ['']" in result.stdout
    assert "repl sees new" in result.stdout
    assert "hotswap live prompt" in result.stderr


def test_cli_on_rude_restart_runs_the_program_again(tmp_path):
    (tmp_path / "shapes.py").write_text("class P:\n    __slots__ = ('x',)\n")
    (tmp_path / "main.py").write_text(
        "import os, sys, time\n"
        "import shapes\n"
        "runs = int(os.environ.get('RUNS', '0')) + 1\n"
        "os.environ['RUNS'] = str(runs)\n"
        "print('run', runs, shapes.P.__slots__, flush=True)\n"
        "if runs == 1:\n"
        "    with open('shapes.py', 'w') as f:\n"
        "        f.write(\"class P:\\n    __slots__ = ('x', 'y')\\n\")\n"
        "    time.sleep(10)\n"
    )
    result = run_cli(["--on-rude", "restart", "main.py"], cwd=tmp_path, timeout=30)
    assert "run 1 ('x',)" in result.stdout, result
    assert "run 2 ('x', 'y')" in result.stdout, result
    assert "restarting" in result.stderr, result


def test_cli_edited_top_level_loop_of_running_script_is_not_started_twice(tmp_path):
    script = tmp_path / "main.py"
    script.write_text(
        "import time\nfor i in range(15):\n    print('tick', i, flush=True)\n    time.sleep(0.1)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotswap", "--no-live-loops", "main.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().startswith("tick 0")
    script.write_text(script.read_text().replace("'tick'", "'tock'"))
    out, err = proc.communicate(timeout=30)
    lines = ["tick 0"] + out.splitlines()
    # One loop only: 15 lines in all, not a second copy started by the reload.
    assert len(lines) == 15, (lines, err)
    assert "not re-run: the module's top-level code is still running" in err, err


def test_cli_does_not_import_logging_until_it_writes(project):
    """`logging` is imported for the first message, with the command line's set-up."""
    script = textwrap.dedent(
        """
        import sys, time, pathlib
        import other
        print("at start", "logging" in sys.modules, flush=True)
        pathlib.Path("other.py").write_text("def g():\\n    return 2\\n")
        for _ in range(500):
            if other.g() == 2:
                break
            time.sleep(0.01)
        time.sleep(0.2)
        print("after edit", other.g(), "logging" in sys.modules, flush=True)
        """
    )
    project.write("other.py", "def g():\n    return 1\n")
    project.write("main.py", script)
    result = run_cli(["main.py"], cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["at start False", "after edit 2 True"]
    assert "hotswap: updated other.g (other.py:1)" in result.stderr
    # -q: nothing to write, so logging stays out of the program.
    project.write("other.py", "def g():\n    return 1\n")
    quiet = run_cli(["-q", "main.py"], cwd=project.root)
    assert quiet.stdout.splitlines() == ["at start False", "after edit 2 False"], quiet.stderr
    assert quiet.stderr == ""


def test_api_messages_follow_logging_once_the_program_imports_it(project):
    script = textwrap.dedent(
        """
        import sys, time, pathlib
        import hotswap
        hotswap.install(".")
        import other
        watcher = hotswap.watch(".")

        def edit(value):
            pathlib.Path("other.py").write_text(f"def g():\\n    return {value}\\n")
            watcher.wait_for_reload(timeout=10)
            assert other.g() == value

        edit(2)  # INFO, and no logging configured: dropped, and logging stays unimported
        print("after first edit", "logging" in sys.modules, flush=True)
        import logging
        logging.basicConfig(level=logging.DEBUG, format="LOG %(name)s %(message)s")
        edit(3)
        print("after second edit", "logging" in sys.modules, flush=True)
        """
    )
    project.write("other.py", "def g():\n    return 1\n")
    project.write("main.py", script)
    result = subprocess.run(
        [sys.executable, "main.py"], cwd=project.root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["after first edit False", "after second edit True"]
    assert "updated other.g" not in result.stderr.split("LOG")[0]
    assert "LOG hotswap updated other.g (other.py:1)" in result.stderr
    assert "LOG hotswap batch: planned in" in result.stderr
