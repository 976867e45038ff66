"""batch: a branch switch. A git repository holds a generated package of 100 modules; its two
branches differ in 25 of them (about 500 changed lines: constants, function and method bodies,
a few functions added and removed), which import each other (`from pkg.m03 import LIMIT as
PREV_LIMIT, scale`, `from pkg import m02 as grand`; classes, a dataclass, module constants read
by other modules); the 75 others, the same on both branches, import constants and functions
from them. The program imports the package and calls every module's ``version()`` every 1 ms;
the harness runs ``git checkout`` to the other branch and times from the start of the checkout
to the first moment every module returns what a fresh start of that branch returns (lost = not
seen within 5 s). hotswap's notes give its own account (batches per checkout, the engine's time
per batch, from the reports); the checkout's own duration is given too. A tool that leaves a
name imported from a changed module at its old value never reaches the branch it switches to,
and then "reaches" the branch it switches back to (the old values are that branch's): its
lost checkouts say so."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from functools import partial
from pathlib import Path

from harness import (
    PYTHON,
    BenchError,
    Child,
    Context,
    Edits,
    Table,
    child_env,
    failed,
    join_notes,
    repeat,
)

NAME = "batch"
MODULES = 25
UNCHANGED = 75  # the rest of the project: modules the checkout leaves alone, importing from it
LOST_AFTER = 5.0
TITLE = (
    f"batch — git checkout between two branches: {MODULES} of {MODULES + UNCHANGED} modules change"
)
CHECKOUT_TO_EFFECT = "ms, from the start of the checkout to every module on the new branch"
GIVE_UP = 3  # lost checkouts in a row before a program stops trying
BRANCHES = ("a", "b")

PROGRAM = """\
import importlib, json
import child
child.prepare()
names = open("modules.txt").read().split()
modules = [importlib.import_module(name) for name in names]
# what a fresh start of each branch returns from every module's version()
branches = {tuple(v): k for k, v in json.load(open("expected.json")).items()}

def state():
    return branches.get(tuple(m.version() for m in modules), "mixed")

def batch(report):
    # hotswap only: one line per applied batch, read by the harness at the end
    with open("batches.log", "a") as f:
        f.write(f"{report.duration_ms:.3f} {len(report.paths)} {len(report.errors)}\\n")

tick, started = child.start(on_reload=batch)
child.report("ready", started)
child.observe(state, tick, period=0.001)
"""

FRESH = """\
import importlib, json, sys
names = open("modules.txt").read().split()
print(json.dumps([importlib.import_module(n).version() for n in names]))
"""


def module_source(k: int, branch: int) -> str:
    """Module ``k`` on branch 0 or 1: about 20 of its ~75 lines differ between the branches."""
    name = BRANCHES[branch]
    imports = ""
    if k > 0:
        imports += f"from pkg.m{k - 1:02d} import LIMIT as PREV_LIMIT, scale as prev_scale\n"
    if k > 1:
        imports += f"from pkg import m{k - 2:02d} as grand\n"
    extra = ""
    if branch == 1 and k % 4 == 0:  # functions added on branch b
        extra += f"\n\ndef extra():\n    return {k} * FACTOR + len(TABLE)\n"
    if branch == 0 and k % 5 == 0:  # functions removed on branch b
        extra += f"\n\ndef legacy():\n    return {k} - FACTOR\n"
    parts = ["TAG", "PREV_LIMIT" if k > 0 else "0", "Widget(2).scaled()", "Point(3, 4).norm()"]
    parts += ["prev_scale(1)" if k > 0 else "scale(1)", "grand.FACTOR" if k > 1 else "1"]
    parts += ["total(5)"] + (["extra()"] if extra and branch == 1 else [])
    parts += ["legacy()"] if extra and branch == 0 else []
    functions = "".join(
        f"\n\ndef f{j}(x):\n"
        f'    """Step {j} of the pipeline."""\n'
        f"    acc = x + {j + 10 * branch}\n"
        f"    for v in TABLE[: {j % 4 + 1}]:\n"
        f"        acc += v * {branch + 1 if j < 3 else 1}\n"
        f"    return acc * FACTOR\n"
        for j in range(8)
    )
    return (
        f'"""Module {k} of the generated package (branch {name})."""\n\n'
        "from __future__ import annotations\n\n"
        "import math\n"
        "from dataclasses import dataclass\n\n"
        f"{imports}\n"
        f'TAG = "{name}"\n'
        f"LIMIT = {100 * (branch + 1) + k}\n"
        f"FACTOR = {2 + branch + k % 3}\n"
        f"TABLE = ({k}, {k + 1 + branch}, {k * 2 + branch}, {7 - branch})\n\n\n"
        "@dataclass\n"
        "class Point:\n"
        "    x: float\n"
        "    y: float\n\n"
        "    def norm(self):\n"
        f"        return round(math.hypot(self.x, self.y) * FACTOR + {branch}, 6)\n\n\n"
        "class Widget:\n"
        f'    """A widget of module {k}."""\n\n'
        "    def __init__(self, size):\n"
        "        self.size = size\n\n"
        "    def scaled(self):\n"
        f"        return self.size * FACTOR + {k + branch}\n"
        f"{functions}{extra}\n\n"
        "def scale(x):\n"
        f"    return x * FACTOR + LIMIT - {branch}\n\n\n"
        "def total(x):\n"
        "    return sum(f(x) for f in (f0, f1, f2, f3, f4, f5, f6, f7))\n\n\n"
        "def version():\n"
        f'    return ":".join(str(v) for v in ({", ".join(parts)}))\n'
    )


def unchanged_source(i: int) -> str:
    """A module both branches share that imports constants and functions from a changed one."""
    k = i % MODULES
    helpers = "".join(
        f"\n\ndef helper{j}(items):\n"
        f'    """Helper {j}: filters and scales."""\n'
        f"    kept = [x for x in items if x % {j + 2}]\n"
        f"    return [scale(x) + {j} for x in kept]\n"
        for j in range(10)
    )
    return (
        f'"""Module u{i:02d}: reads module {k}\'s constants."""\n\n'
        f"from pkg.m{k:02d} import LIMIT, FACTOR, scale\n"
        f"from pkg import m{k:02d}\n"
        f"{helpers}\n\n"
        "def version():\n"
        f'    return f"{{LIMIT}}:{{FACTOR}}:{{scale(2)}}:{{m{k:02d}.TAG}}"\n'
    )


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def fresh_versions(root: Path) -> list:
    """Every module's version() in a fresh process, for the branch checked out now."""
    argv = [PYTHON, "-c", FRESH]
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise BenchError(f"fresh import failed: {done.stderr[-400:]}")
    return json.loads(done.stdout)


class Repo:
    """The git repository with the package on branches ``a`` and ``b``; it starts on ``a``."""

    def __init__(self, ctx: Context) -> None:
        names = [f"pkg.m{k:02d}" for k in range(MODULES)]
        names += [f"pkg.u{i:02d}" for i in range(UNCHANGED)]
        files = {"prog.py": PROGRAM, "modules.txt": "\n".join(names), "pkg/__init__.py": ""}
        files[".gitignore"] = "__pycache__/\n*.log\nexpected.json\nprog.py\nmodules.txt\n"
        files.update({f"pkg/m{k:02d}.py": module_source(k, 0) for k in range(MODULES)})
        files.update({f"pkg/u{i:02d}.py": unchanged_source(i) for i in range(UNCHANGED)})
        self.root = ctx.project("batch", files)
        git(self.root, "init", "-q", "-b", "a")
        git(self.root, "add", "pkg", ".gitignore")
        git(self.root, "commit", "-q", "-m", "branch a")
        git(self.root, "checkout", "-q", "-b", "b")
        for k in range(MODULES):
            (self.root / f"pkg/m{k:02d}.py").write_text(module_source(k, 1))
        git(self.root, "commit", "-q", "-am", "branch b")
        self.stat = git(self.root, "diff", "--shortstat", "a", "b").strip()
        expected = {"b": fresh_versions(self.root)}
        git(self.root, "checkout", "-q", "a")
        expected["a"] = fresh_versions(self.root)
        if expected["a"] == expected["b"]:
            raise BenchError("the two branches give the same versions")
        (self.root / "expected.json").write_text(json.dumps(expected))
        self.branch = "a"
        self.checkout_ms: list = []

    def switch(self) -> tuple:
        """Checks out the other branch: (its name, CLOCK_MONOTONIC ns at the start)."""
        self.branch = "b" if self.branch == "a" else "a"
        began = time.monotonic_ns()
        git(self.root, "checkout", "-q", self.branch)
        self.checkout_ms.append((time.monotonic_ns() - began) / 1e6)
        return self.branch, began


def one_program(ctx: Context, tool: str, repo: Repo, switches: int) -> tuple:
    """One program, ``switches`` checkouts: (Edits timed from the start of each, batch lines)."""
    result = Edits()
    log = repo.root / "batches.log"
    log.unlink(missing_ok=True)
    with Child([PYTHON, "prog.py"], repo.root, child_env(tool)) as child:
        child.need("ready", 120)
        child.need("seen", 30)
        time.sleep(0.3)
        in_a_row = 0
        for _ in range(switches):
            time.sleep(0.2)
            result.attempted += 1
            glitches = child.glitches
            branch, began = repo.switch()
            fields = child.wait_for("seen", lambda f, want=branch: f[0] == want, LOST_AFTER)
            result.glitches += child.glitches - glitches
            if fields is None:
                result.lost += 1
                in_a_row += 1
                if in_a_row >= GIVE_UP:
                    result.stopped = f"a program stopped after {GIVE_UP} lost in a row"
                    break
                continue
            in_a_row = 0
            result.samples.append((int(fields[1]) - began) / 1e6)
        time.sleep(0.3)  # the last batch's line is written after the program sees it
        if repo.branch != "a":  # the next program starts from branch a
            repo.switch()
    batches = log.read_text().split("\n") if log.exists() else []
    return result, [line.split() for line in batches if line]


def batch_notes(runs: list) -> str:
    """hotswap's own account: batches per checkout, the engine's time per batch, errors."""
    lines = [line for _, batches in runs for line in batches]
    attempted = sum(edits.attempted for edits, _ in runs)
    if not lines:
        return ""
    engine = statistics.median(float(line[0]) for line in lines)
    errors = sum(int(line[2]) for line in lines)
    return (
        f"{len(lines) / max(1, attempted):.1f} batches per checkout, engine median "
        f"{engine:.1f} ms per batch, {errors} errors reported"
    )


def run(ctx: Context) -> list:
    reps, switches = (1, 6) if ctx.quick else (3, 10)
    repo = Repo(ctx)
    ctx.log(f"batch: {MODULES + UNCHANGED} modules, branches a and b differ by {repo.stat}")
    one = partial(one_program, ctx, repo=repo, switches=switches)
    results, failures = repeat(ctx, "batch checkout", reps, one)
    table = Table(TITLE, CHECKOUT_TO_EFFECT, note=f"the branches differ by {repo.stat}")
    for tool, runs in results.items():
        seen = Edits.total(r[0] for r in runs)
        extra = batch_notes(runs) if tool == "hotswap" else ""
        table.add(tool, seen.samples, join_notes(seen.notes(), extra, failed(failures[tool])))
    checkout = Table(TITLE, "ms, the `git checkout` command itself", reference="git")
    checkout.add("git", repo.checkout_ms)
    ctx.drop(repo.root)
    return [table, checkout]
