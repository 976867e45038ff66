"""heap: save-to-effect of an edit to a small module, and the time to start watching (the
``watch()`` call; for IPython, creating the reloader and its first ``check()``), in a program
holding 0 to 5 million live objects (small lists, which the garbage collector tracks) and
10,000 live closures. Lost = not seen within 10 s."""

from __future__ import annotations

import time
from functools import partial

from bench_latency import module_source
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

NAME = "heap"
LOST_AFTER = 10.0

PROGRAM = """\
import gc, sys
import child
gc.disable()
heap = [[i, i] for i in range(int(sys.argv[1]))]
def make(i):
    def closure():
        return i
    return closure
closures = [make(i) for i in range(10_000)]
gc.enable()
child.prepare()
import small
tick, started = child.start()
child.report("ready", started)
child.observe(lambda: small.version(), tick)
"""


def one_program(ctx: Context, tool: str, objects: int, edits: int) -> tuple:
    root = ctx.project("heap", {"small.py": module_source(0), "prog.py": PROGRAM})
    result = Edits()
    with Child([PYTHON, "prog.py", str(objects)], root, child_env(tool)) as child:
        started = float(child.need("ready", 180)[0]) * 1000
        child.need("seen", 30)
        time.sleep(0.2)
        for version in range(1, edits + 1):
            time.sleep(0.03)
            text = module_source(version)
            result.observe(child, root / "small.py", text, value_is(version), timeout=LOST_AFTER)
    ctx.drop(root)
    return result, started


def run(ctx: Context) -> list:
    sizes = (0, 100_000, 1_000_000) if ctx.quick else (0, 100_000, 1_000_000, 5_000_000)
    reps, edits = (1, 4) if ctx.quick else (3, 5)
    tables = []
    for objects in sizes:
        one = partial(one_program, ctx, objects=objects, edits=edits)
        results, failures = repeat(ctx, f"heap {objects:,} objects", reps, one)
        latency = Table(f"heap — {objects:,} objects + 10,000 closures", "ms, save to effect")
        start = Table(f"heap — {objects:,} objects + 10,000 closures", "ms, start watching")
        for tool, runs in results.items():
            edits_seen = Edits.total(r[0] for r in runs)
            latency.add(
                tool, edits_seen.samples, join_notes(edits_seen.notes(), failed(failures[tool]))
            )
            start.add(tool, [r[1] for r in runs], failed(failures[tool]))
        tables += [latency, start]
    return tables
