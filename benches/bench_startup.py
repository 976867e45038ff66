"""startup: wall time (process start to exit), CPU time (user + system) and peak RSS
(``ru_maxrss``) of a
program that imports 2,000 generated modules then exits, and of one that imports numpy and
pandas: under plain python, ``python -m hotswap prog.py`` (CLI), the hotswap API
(``install``, imports, ``watch``), ``python -m jurigged prog.py`` and IPython's reloader
(created after the imports, plus its first ``check()``). Each configuration runs once untimed
first, so bytecode caches are warm."""

from __future__ import annotations

import importlib.util
from statistics import median

from harness import PYTHON, Context, Table, child_env, interleave, run_to_exit

NAME = "startup"
MODULES = 2_000
TIMEOUT = 120.0

PROGRAM = """\
import importlib, sys
import child
child.prepare()
if sys.argv[1] == "modules":
    for i in range({modules}):
        importlib.import_module(f"mods.m{{i:04d}}")
else:
    import numpy, pandas
child.start()
"""

CONFIGS = {  # label: (arguments before the script, BENCH_TOOL)
    "python (no tool)": ([], "none"),
    "hotswap CLI": (["-m", "hotswap"], "none"),
    "hotswap API": ([], "hotswap"),
    "jurigged CLI": (["-m", "jurigged"], "none"),
    "ipython reloader": ([], "ipython"),
}


def module_source(k: int) -> str:
    return (
        f'"""Generated module {k}."""\nimport os\n\nCONSTANT = {k}\n\n\n'
        f"def function(x, y=2):\n    return x * y + CONSTANT\n\n\n"
        f"class Thing:\n    size = {k}\n\n    def method(self, x):\n"
        f"        return function(x) + self.size\n\n    @property\n"
        f"    def name(self):\n        return os.path.basename(__file__)\n"
    )


def measure(ctx: Context, program: str, reps: int) -> list:
    files = {"prog.py": PROGRAM.format(modules=MODULES), "mods/__init__.py": ""}
    if program == "modules":
        files.update({f"mods/m{k:04d}.py": module_source(k) for k in range(MODULES)})
    root = ctx.project("startup", files)
    labels = tuple(CONFIGS)
    metrics = {
        unit: {label: [] for label in labels}
        for unit in ("ms, wall time", "ms, CPU time", "MB, peak RSS")
    }
    last_rep = -1
    for rep, label in interleave(reps + 1, labels):
        if rep != last_rep:
            ctx.log(f"startup {program} rep {rep}/{reps}" + (" (warm-up)" if rep == 0 else ""))
            last_rep = rep
        prefix, tool = CONFIGS[label]
        argv = [PYTHON, *prefix, "prog.py", program]
        wall, cpu, peak = run_to_exit(argv, root, child_env(tool), TIMEOUT)
        if rep > 0:
            for values, value in zip(metrics.values(), (wall * 1000, cpu * 1000, peak)):
                values[label].append(value)
    ctx.drop(root)
    what = f"{MODULES:,} modules" if program == "modules" else "numpy + pandas"
    tables = []
    for unit, values in metrics.items():
        table = Table(f"startup — importing {what}", unit, reference="hotswap CLI")
        base = values[labels[0]]
        for label in labels:
            table.add(label, values[label], _overhead(values[label], base))
        tables.append(table)
    return tables


def _overhead(samples: list, base: list) -> str:
    if not samples or not base or samples is base:
        return ""
    return f"{100 * (median(samples) / median(base) - 1):+.0f}% vs python"


def run(ctx: Context) -> list:
    reps = 2 if ctx.quick else 7
    tables = measure(ctx, "modules", reps)
    if all(importlib.util.find_spec(name) for name in ("numpy", "pandas")):
        tables += measure(ctx, "numpy", reps)
    else:
        tables.append(Table("startup — importing numpy + pandas", "skipped", note="not installed"))
    return tables
