"""cpu: idle overhead. A CPU-bound loop of fixed work (2e7 iterations of integer arithmetic, in
200 slices; the tool's ``tick`` runs between two slices, which is where a program would call
IPython's ``check()``) timed with each tool watching a small module that does not change, and
with no tool (``none``): the loop's wall time, and the CPU time of the whole program (the
tool's threads included), which other load on the machine disturbs less. Notes give the
slowdown against ``none``."""

from __future__ import annotations

from functools import partial
from statistics import median

from bench_latency import module_source
from harness import PYTHON, Child, Context, Table, child_env, failed, join_notes, repeat

NAME = "cpu"
TOOLS = ("hotswap", "jurigged", "ipython", "none")

PROGRAM = """\
import time
import child
child.prepare()
import small
tick, _ = child.start()
time.sleep(0.5)
wall, cpu = time.perf_counter(), time.process_time()
for _ in range(200):
    child.spin(100_000)
    tick()
child.report("done", time.perf_counter() - wall, time.process_time() - cpu)
"""


def one_program(ctx: Context, tool: str) -> tuple:
    """(wall ms, CPU ms of all the program's threads) of the loop."""
    root = ctx.project("cpu", {"small.py": module_source(0), "prog.py": PROGRAM})
    with Child([PYTHON, "prog.py"], root, child_env(tool)) as child:
        wall, cpu = child.need("done", 300)
    ctx.drop(root)
    return float(wall) * 1000, float(cpu) * 1000


def run(ctx: Context) -> list:
    reps = 2 if ctx.quick else 7
    results, failures = repeat(ctx, "cpu", reps, partial(one_program, ctx), TOOLS)
    tables = []
    for index, unit in enumerate(("ms, loop wall time", "ms, CPU time of the program")):
        table = Table("cpu — 2e7 iterations of arithmetic while watching", unit)
        times = {tool: [r[index] for r in runs] for tool, runs in results.items()}
        for tool in TOOLS:
            slowdown = ""
            if tool != "none" and times[tool] and times["none"]:
                change = median(times[tool]) / median(times["none"]) - 1
                slowdown = f"{100 * change:+.1f}% vs none"
            table.add(tool, times[tool], join_notes(slowdown, failed(failures[tool])))
        tables.append(table)
    return tables
