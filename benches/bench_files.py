"""files: a package tree of 100 to 10,000 modules (100 per directory), all imported and watched.
Measures the time to start watching (the ``watch()`` call; for IPython, creating the reloader
and its first ``check()``), save-to-effect of an edit to one module (lost = not seen within
10 s), and the program's CPU use over 5 s with nothing changing (user + system time of all its
threads, from psutil; the program's own loop wakes every 1 ms; ``none`` is the same program
without a tool)."""

from __future__ import annotations

import time
from functools import partial

import psutil
from harness import (
    PYTHON,
    Child,
    Context,
    Edits,
    Table,
    child_env,
    failed,
    join_notes,
    repeat,
    value_is,
)

NAME = "files"
LOST_AFTER = 10.0
IDLE = 5.0
PER_DIR = 100

PROGRAM = """\
import importlib, sys
import child
child.prepare()
names = open("modules.txt").read().split()
for name in names:
    importlib.import_module(name)
target = sys.modules[names[-1]]
tick, started = child.start()
child.report("ready", started)
child.observe(lambda: target.value(), tick, period=0.001)
"""


def module_source(k: int, version: int) -> str:
    return (
        f'"""Generated module {k}."""\nimport math\n\n\n'
        f"def value():\n    return {version}\n\n\n"
        f"def helper(x):\n    return math.sqrt(x) + {k}\n\n\n"
        f"class Thing:\n    def method(self):\n        return {k}\n"
    )


def make_tree(ctx: Context, modules: int) -> tuple:
    """The project directory and the path of the module that gets edited."""
    files, names = {"prog.py": PROGRAM, "pkg/__init__.py": ""}, []
    for k in range(modules):
        package = f"pkg/d{k // PER_DIR:03d}"
        files.setdefault(f"{package}/__init__.py", "")
        files[f"{package}/m{k % PER_DIR:03d}.py"] = module_source(k, 0)
        names.append(f"pkg.d{k // PER_DIR:03d}.m{k % PER_DIR:03d}")
    files["modules.txt"] = "\n".join(names)
    root = ctx.project("files", files)
    return root, root / (names[-1].replace(".", "/") + ".py")


class Tree:
    """One tree per size, shared by every program; the edited module's version only grows."""

    def __init__(self, ctx: Context, modules: int) -> None:
        self.modules = modules
        self.root, self.target = make_tree(ctx, modules)
        self.version = 0


def one_program(ctx: Context, tool: str, tree: Tree, edits: int) -> tuple:
    result = Edits()
    with Child([PYTHON, "prog.py"], tree.root, child_env(tool)) as child:
        started = float(child.need("ready", 300)[0]) * 1000
        child.need("seen", 30)
        time.sleep(0.2)
        for _ in range(edits if tool != "none" else 0):
            time.sleep(0.03)
            tree.version += 1
            text = module_source(tree.modules - 1, tree.version)
            result.observe(child, tree.target, text, value_is(tree.version), timeout=LOST_AFTER)
        time.sleep(1.0)
        process = psutil.Process(child.pid)
        before, began = process.cpu_times(), time.monotonic()
        time.sleep(IDLE)
        after, wall = process.cpu_times(), time.monotonic() - began
    busy = (after.user - before.user) + (after.system - before.system)
    return result, started, 100 * busy / wall


def run(ctx: Context) -> list:
    # 2,000: the size the `watch()` start-up target is stated for.
    sizes = (100, 1_000) if ctx.quick else (100, 1_000, 2_000, 10_000)
    reps, edits = (1, 3) if ctx.quick else (3, 4)
    tables = []
    for modules in sizes:
        ctx.log(f"files: writing {modules:,} modules")
        tree = Tree(ctx, modules)
        one = partial(one_program, ctx, tree=tree, edits=edits)
        tools = ("hotswap", "jurigged", "ipython", "none")
        results, failures = repeat(ctx, f"files {modules:,} modules", reps, one, tools)
        title = f"files — {modules:,} modules"
        start = Table(title, "ms, start watching")
        latency = Table(title, "ms, save to effect of an edit to one module")
        idle = Table(title, f"CPU % over {IDLE:g} s idle")
        for tool, runs in results.items():
            notes = failed(failures[tool])
            idle.add(tool, [r[2] for r in runs], notes)
            if tool != "none":
                seen = Edits.total(r[0] for r in runs)
                start.add(tool, [r[1] for r in runs], notes)
                latency.add(tool, seen.samples, join_notes(seen.notes(), notes))
        tables += [start, latency, idle]
        ctx.drop(tree.root)
    return tables
