"""memory: RSS growth of the program over 1,000 reloads of a 200-line module (40 functions;
each edit changes the return value of one of them, ~10 ms after the previous edit was seen),
from the RSS after 10 warm-up reloads to the RSS 1 s after the last one; and the code objects
from that module still reachable at the end (found through the GC-tracked heap: functions,
closures, ``co_consts``; the module defines 40 functions, so 40 is the floor; code objects
held only inside a tool's native code are not seen). Lost = not seen within 5 s."""

from __future__ import annotations

import time
from functools import partial

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

NAME = "memory"
FUNCTIONS = 40
WARM_UP = 10
LOST_AFTER = 5.0

PROGRAM = """\
import sys, time
import child
child.prepare()
import mod
tick, _ = child.start()
warm_up, last = int(sys.argv[1]), int(sys.argv[2])
def read():
    return max(getattr(mod, f"f_{{i}}")() for i in range({functions}))
def until(value):
    if value == warm_up:
        child.report("base", child.rss_mb())
    return value == last
child.observe(read, tick, period=0.001, until=until)
time.sleep(1.0)
child.report("end", child.rss_mb(), child.live_code_objects(mod.__file__))
"""


def module_source(values: list) -> str:
    return '"""Forty functions."""\n\n\n' + "\n\n".join(
        f'def f_{i}(x=1):\n    """Function {i}."""\n    y = x * {i}\n    return {value}\n'
        for i, value in enumerate(values)
    )


def one_program(ctx: Context, tool: str, reloads: int) -> tuple:
    values = [i - FUNCTIONS for i in range(FUNCTIONS)]  # max() is -1 until the first edit
    last = WARM_UP + reloads
    program = PROGRAM.format(functions=FUNCTIONS)
    root = ctx.project("memory", {"mod.py": module_source(values), "prog.py": program})
    edits = Edits()
    with Child([PYTHON, "prog.py", str(WARM_UP), str(last)], root, child_env(tool)) as child:
        child.need("seen", 60)
        time.sleep(0.2)
        for version in range(1, last + 1):
            values[version % FUNCTIONS] = version
            text = module_source(values)
            record = edits if version > WARM_UP else Edits()  # warm-up edits are not counted
            record.observe(child, root / "mod.py", text, value_is(version), timeout=LOST_AFTER)
            if version == WARM_UP:
                base = float(child.need("base", 10)[0])
            time.sleep(0.01)
        rss, codes = child.need("end", 120)
    ctx.drop(root)
    return float(rss) - base, int(codes), edits


def run(ctx: Context) -> list:
    reps, reloads = (1, 150) if ctx.quick else (2, 1_000)
    results, failures = repeat(ctx, "memory", reps, partial(one_program, ctx, reloads=reloads))
    title = f"memory — {reloads:,} reloads of a 200-line module"
    growth = Table(title, "MB, RSS growth")
    codes = Table(title, "live code objects from the module at the end")
    for tool, runs in results.items():
        edits = Edits.total(r[2] for r in runs)
        notes = join_notes(edits.notes(), failed(failures[tool]))
        growth.add(tool, [r[0] for r in runs], notes)
        codes.add(tool, [r[1] for r in runs], notes)
    return [growth, codes]
