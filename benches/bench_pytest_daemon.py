"""Repeated ``pytest tests/test_one.py`` after a one-line edit: plain pytest, hotswap's warm
daemon (``pytest --hotswap-daemon``) and pytest-hot-reloading (when installed), side by side;
writes benches/RESULTS-pytest-daemon.md.

    python benches/bench_pytest_daemon.py [--runs 15] [--modules 500] [--django] [--out PATH]

Run it with the interpreter of a virtualenv holding hotswap, pytest, numpy and pandas, and
optionally pytest-hot-reloading (it needs jurigged), e.g.::

    python3.11 -m venv .venvs/bench-pytest-daemon
    .venvs/bench-pytest-daemon/bin/pip install target/wheels/dev-3.11/hotswap-*.whl \\
        pytest numpy pandas jurigged "pytest-hot-reloading==0.1.0a19" django pytest-django

The generated project: a package of ``--modules`` modules (functions, dataclasses, an enum
each, chained imports) that imports numpy and pandas, imported by ``tests/test_one.py``. Each
repetition edits one line of ``bigpkg/m0.py`` (the value a function returns) and writes the
value the test must now see to ``expected.txt``, waits 0.5 s (a person's edit-run loop is
slower; pytest-hot-reloading's watcher needs the time), then runs every tool once, in a
rotating order. A run whose test does not pass (it ran stale code) is counted as wrong.

``--django`` adds a second project: Django (sqlite, an app of 60 models) with pytest-django,
``--reuse-db``, one ``django_db`` test, and a one-line edit of a model method each repetition.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTLE = 0.5


def module_text(index: int) -> str:
    lines = ["import dataclasses", "import enum", ""]
    if index % 50 == 0:
        lines += ["import numpy", "import pandas", ""]
    if index > 0:
        lines += [f"from . import m{index - 1} as previous", ""]
    lines += [f"LEVEL = {index}", "", "", "def value():", f"    return {index}", ""]
    for k in range(30):
        lines += [f"def f{k}(x, y={k}):", "    total = x + y + LEVEL", "    return total * 2", ""]
    for k in range(10):
        lines += [
            "@dataclasses.dataclass",
            f"class Record{k}:",
            "    name: str",
            "    size: int = 0",
        ]
        lines += ["    tags: list = dataclasses.field(default_factory=list)", ""]
    lines += ["class Kind(enum.Enum):", "    A = 1", "    B = 2", "    C = 3", ""]
    return "\n".join(lines) + "\n"


def make_project(root: Path, modules: int) -> None:
    package = root / "bigpkg"
    package.mkdir(parents=True)
    imports = "".join(f"from . import m{i}\n" for i in range(modules))
    (package / "__init__.py").write_text(imports)
    for index in range(modules):
        (package / f"m{index}.py").write_text(module_text(index))
    (root / "tests").mkdir()
    (root / "tests" / "test_one.py").write_text(
        "from pathlib import Path\n\nimport pandas\n\nimport bigpkg\nfrom bigpkg import m0\n\n\n"
        "def test_one():\n"
        "    expected = int(Path(__file__).parent.parent.joinpath('expected.txt').read_text())\n"
        "    assert m0.value() == expected\n"
        "    assert len(pandas.DataFrame({'a': [1, 2]})) == 2 and bigpkg.m1.LEVEL == 1\n"
    )
    (root / "expected.txt").write_text("0")
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")


def edit(root: Path, value: int) -> None:
    path = root / "bigpkg" / "m0.py"
    text = path.read_text()
    start = text.index("def value():\n    return ") + len("def value():\n    return ")
    end = text.index("\n", start)
    path.write_text(text[:start] + str(value) + text[end:])
    (root / "expected.txt").write_text(str(value))


MODEL = """
class Item{k}(models.Model):
    name = models.CharField(max_length=20)
    size = models.IntegerField(default=0)

    def label(self):
        return self.name.upper() + "0"
"""


def make_django_project(root: Path, env: dict) -> None:
    """A Django project (sqlite) with an app of 60 models and one pytest-django test."""
    (root / "site_").mkdir(parents=True)
    (root / "site_" / "__init__.py").write_text("")
    (root / "site_" / "settings.py").write_text(
        "SECRET_KEY = 'bench'\nUSE_TZ = True\nDEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n"
        "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'shop']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': 'db.sqlite3'}}\n"
    )
    (root / "shop" / "migrations").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "migrations" / "__init__.py").write_text("")
    models = "".join(MODEL.replace("{k}", str(k)) for k in range(60))
    (root / "shop" / "models.py").write_text("from django.db import models\n" + models)
    (root / "tests").mkdir()
    (root / "tests" / "test_items.py").write_text(
        "from pathlib import Path\n\nimport pytest\n\nfrom shop.models import Item0\n\n\n"
        "@pytest.mark.django_db\ndef test_items():\n"
        "    expected = Path(__file__).parent.parent.joinpath('expected.txt').read_text()\n"
        "    Item0.objects.create(name='ab')\n"
        "    assert Item0.objects.get().label() == 'AB' + expected\n"
    )
    (root / "expected.txt").write_text("0")
    (root / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = site_.settings\n")
    settings = dict(env, DJANGO_SETTINGS_MODULE="site_.settings", PYTHONPATH=".")
    makemigrations = [sys.executable, "-m", "django", "makemigrations", "shop", "-v0"]
    subprocess.run(makemigrations, cwd=root, check=True, env=settings)


def edit_label(root: Path, value: int) -> None:
    """One line of the Django project: what ``Item0.label`` appends."""
    path = root / "shop" / "models.py"
    text = path.read_text()
    start = text.index('return self.name.upper() + "') + len('return self.name.upper() + "')
    path.write_text(text[:start] + str(value) + text[text.index('"', start) :])
    (root / "expected.txt").write_text(str(value))


def django_results(found: list) -> list:
    plain = statistics.median(found[0].times)
    lines = [
        "",
        "## Django + pytest-django (`--reuse-db`)",
        "",
        "A Django project (sqlite, an app of 60 models), `pytest -q -p no:cacheprovider "
        "--reuse-db tests/test_items.py` (one `django_db` test) after a one-line edit of a "
        "model method.",
        "",
        "| tool | median | p90 | vs plain | wrong results | n |",
        "|---|---|---|---|---|---|",
    ]
    for tool in found:
        median = statistics.median(tool.times)
        p90 = sorted(tool.times)[int(0.9 * (len(tool.times) - 1))]
        lines.append(
            f"| {tool.name} | {median * 1000:.0f} ms | {p90 * 1000:.0f} ms | "
            f"{plain / median:.1f}x faster | {tool.wrong} | {len(tool.times)} |"
        )
    return lines + [""]


def has(dist: str) -> bool:
    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


class Tool:
    """One way to run the test; ``command`` is the repeated run."""

    def __init__(self, name: str, command: list, start=None, stop=None) -> None:
        self.name = name
        self.command = command
        self.start_command = start
        self.stop_command = stop
        self.times: list = []
        self.wrong = 0


def tools(test_args: list, globs: str) -> list:
    """The tools, each running ``pytest -q ... TEST_ARGS``; ``globs``: what
    pytest-hot-reloading watches."""
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    no_hot = ["-p", "no:pytest_hot_reloading"] if has("pytest-hot-reloading") else []
    found = [
        Tool("plain pytest", [*pytest, *no_hot, *test_args]),
        Tool(
            "hotswap: pytest --hotswap-daemon",
            [*pytest, *no_hot, "--hotswap-daemon", *test_args],
            stop=[*pytest, "--hotswap-daemon-stop"],
        ),
    ]
    found.append(
        Tool(
            "hotswap: hotswap pytest",
            [sys.executable, "-m", "hotswap", "pytest", *pytest[3:], *no_hot, *test_args],
        )
    )
    if has("pytest-hot-reloading") and has("jurigged"):
        hot = [*pytest, "-p", "pytest_hot_reloading.plugin", "--daemon-port", "48529"]
        hot += ["--daemon-watch-globs", globs, "--daemon-use-os-events"]
        found.append(
            Tool(
                "pytest-hot-reloading",
                [*hot, "--daemon-start-if-needed", *test_args],
                stop=[*hot, "--stop-daemon"],
            )
        )
    return found


def timed(command: list, root: Path, env: dict) -> tuple:
    """(seconds, completed process). Output goes through files, not pipes: a daemon the
    command starts inherits them and would hold a pipe open."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, env=env, stdout=out, stderr=err, timeout=300)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        done.stdout, done.stderr = out.read(), err.read()
    return elapsed, done


def test_time(output: str) -> float:
    """The time pytest itself reports for the run ("1 passed in 0.01s")."""
    for word in reversed(output.replace("(", " ").split()):
        if word.endswith("s") and word[:-1].replace(".", "", 1).isdigit():
            return float(word[:-1])
    return 0.0


def measure(root: Path, runs: int, env: dict, found: list, edit_to=None) -> tuple:
    edit_to = edit_to or edit
    first: dict = {tool.name: [] for tool in found}
    own: list = []
    for rep in range(3):  # first runs: plain (cold) vs the daemon's first run (it starts)
        for tool in found[:2]:
            if tool.stop_command:
                timed(tool.stop_command, root, env)
                time.sleep(0.3)
            elapsed, done = timed(tool.command, root, env)
            first[tool.name].append(elapsed)
            print(f"first run {rep} {tool.name}: {elapsed:.2f} s", flush=True)
    for tool in found[3:]:  # peers: started once, their first run not measured here
        elapsed, done = timed(tool.command, root, env)
        print(f"{tool.name} first run (starts its daemon): {elapsed:.2f} s", flush=True)
    for rep in range(runs):
        edit_to(root, rep + 1)
        time.sleep(SETTLE)
        order = found[rep % len(found) :] + found[: rep % len(found)]
        for tool in order:
            elapsed, done = timed(tool.command, root, env)
            tool.times.append(elapsed)
            if "1 passed" not in done.stdout:
                tool.wrong += 1
                print(f"  {tool.name} WRONG: {done.stdout[-400:]}{done.stderr[-400:]}")
            if tool.name.startswith("hotswap"):
                own.append(test_time(done.stdout))
            if rep == 0 and tool.name.startswith("hotswap"):
                print(done.stderr, flush=True)
            print(f"run {rep} {tool.name}: {elapsed * 1000:.0f} ms", flush=True)
    for tool in found:
        if tool.stop_command:
            timed(tool.stop_command, root, env)
    return found, first, own


def write_results(out: Path, args, found: list, first: dict, own: list, took: float) -> None:
    plain = statistics.median(found[0].times)
    ours = statistics.median(found[1].times)
    fast = statistics.median(found[2].times)
    versions = ", ".join(
        f"{d} {metadata.version(d)}"
        for d in ("hotswap", "pytest", "numpy", "pandas", "pytest-hot-reloading", "jurigged")
        if has(d)
    )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "# pytest daemon benchmark",
        "",
        f"- command: `python benches/bench_pytest_daemon.py --runs {args.runs} "
        + ("--django " if args.django else "")
        + f"--modules {args.modules}`; took {took / 60:.1f} min",
        f"- {time.strftime('%Y-%m-%d %H:%M %Z')}; Python {platform.python_version()}; "
        f"{versions}; {os.cpu_count()} CPUs shared with other work, load average "
        f"(1/5/15 min) {load}",
        f"- project: a package of {args.modules} generated modules that imports numpy and "
        "pandas; `pytest -q -p no:cacheprovider tests/test_one.py` after a one-line edit of "
        "`bigpkg/m0.py`",
        "",
        "## Repeated run after a one-line edit",
        "",
        "| tool | median | p90 | vs plain | wrong results | n |",
        "|---|---|---|---|---|---|",
    ]
    for tool in found:
        median = statistics.median(tool.times)
        p90 = sorted(tool.times)[int(0.9 * (len(tool.times) - 1))]
        lines.append(
            f"| {tool.name} | {median * 1000:.0f} ms | {p90 * 1000:.0f} ms | "
            f"{plain / median:.1f}x faster | {tool.wrong} | {len(tool.times)} |"
        )
    first_plain = statistics.median(first[found[0].name])
    first_ours = statistics.median(first[found[1].name])
    lines += [
        "",
        f"hotswap's repeated run through `pytest --hotswap-daemon`: {ours * 1000:.0f} ms, "
        f"through `hotswap pytest`: {fast * 1000:.0f} ms; the test session itself reported "
        f"{statistics.median(own) * 1000:.0f} ms. The rest is the client (for `pytest "
        "--hotswap-daemon` a `pytest` process: Python start-up, importing pytest and loading "
        "its plugins; `hotswap pytest` imports neither) and the daemon's checks and "
        "`pytest.main` set-up (see the daemon's log line per run).",
        "",
        "## First run (cold)",
        "",
        "| run | median | n |",
        "|---|---|---|",
        f"| plain pytest | {first_plain * 1000:.0f} ms | {len(first[found[0].name])} |",
        f"| hotswap: starts the daemon, then runs | {first_ours * 1000:.0f} ms "
        f"({(first_ours / first_plain - 1) * 100:+.0f} %) | {len(first[found[1].name])} |",
        f"| `python -m pytest --version` (client floor) | {args.floor * 1000:.0f} ms | 3 |",
        "",
    ]
    out.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-pytest-daemon.md")
    parser.add_argument(
        "--django", action="store_true", help="also a Django + pytest-django project"
    )
    args = parser.parse_args()
    for needed in ("hotswap", "pytest") + (("django", "pytest-django") if args.django else ()):
        if not has(needed):
            sys.exit(f"bench_pytest_daemon: {needed} is not installed in {sys.executable}")
    started = time.time()
    root = Path(tempfile.mkdtemp(prefix="hs-bench-")) / "proj"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HOTSWAP_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        make_project(root, args.modules)
        args.floor = statistics.median(
            timed([sys.executable, "-m", "pytest", "--version"], root, env)[0] for _ in range(3)
        )
        found = tools(["tests/test_one.py"], "./bigpkg/*.py:./tests/*.py")
        found, first, own = measure(root, args.runs, env, found)
        write_results(args.out, args, found, first, own, time.time() - started)
        if args.django:
            django_root = root.parent / "django"
            make_django_project(django_root, env)
            found = tools(["--reuse-db", "tests/test_items.py"], "./shop/*.py:./tests/*.py")
            found, _, _ = measure(django_root, args.runs, env, found, edit_label)
            with open(args.out, "a") as f:
                f.write("\n".join(django_results(found)))
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
