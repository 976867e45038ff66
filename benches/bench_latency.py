"""latency: save-to-effect for a ~20-line module, plain and atomic saves, with a caller that
polls the function every 0.1 ms (sleeping in between) and with a CPU-bound caller (arithmetic
between two calls). Lost = not seen within 2 s. `floor` is benches/floor.py, the least any reloader
does (inotify, read, compile the whole file, swap `__code__`), run side by side."""

from __future__ import annotations

import time
from functools import partial

from harness import (
    PYTHON,
    TOOLS,
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

NAME = "latency"
# benches/floor.py: inotify, read, compile the whole file, swap __code__; what hotswap is held to
FLOOR = "floor"
LOST_AFTER = 2.0  # seconds: an edit not seen by then is lost
GIVE_UP = 5  # consecutive lost edits of one save style before a program stops trying it
STYLES = ("plain", "atomic")

PROGRAM = """\
import sys
import child
child.prepare()
import small
tick, _ = child.start()
child.report("ready")
child.observe(lambda: small.version(), tick, cpu_bound=sys.argv[1] == "cpu")
"""


def module_source(version: int) -> str:
    helpers = "\n".join(f"def helper_{i}(x):\n    return x + {i}\n" for i in range(6))
    return f"{helpers}\ndef version():\n    return {version}\n"


def one_program(ctx: Context, tool: str, caller: str, per_style: int) -> dict:
    """One program, ``per_style`` edits of each save style, alternating, ~30 ms apart."""
    root = ctx.project("latency", {"small.py": module_source(0), "prog.py": PROGRAM})
    results = {style: Edits() for style in STYLES}
    misses = dict.fromkeys(STYLES, 0)
    with Child([PYTHON, "prog.py", caller], root, child_env(tool)) as child:
        child.need("ready", 60)
        child.need("seen", 10)
        time.sleep(0.2)
        for version in range(1, 2 * per_style + 1):
            style = STYLES[version % 2]
            if misses[style] >= GIVE_UP:
                results[style].stopped = f"a program stopped after {GIVE_UP} lost in a row"
                continue
            time.sleep(0.03)
            text = module_source(version)
            seen = results[style].observe(
                child, root / "small.py", text, value_is(version), style, LOST_AFTER
            )
            misses[style] = 0 if seen else misses[style] + 1
    ctx.drop(root)
    return results


def from_start_table(results: dict, style: str) -> Table:
    """The polling caller's edits timed from the start of the save: the floor's ratio is read
    here, as the floor often sees the edit before the save's own clock read."""
    table = Table(
        f"latency — {style} save, caller polls every 0.1 ms, from the start of the save",
        "ms, save to effect",
    )
    for tool, runs in results.items():
        table.add(tool, Edits.total(r[style] for r in runs).from_start)
    return table


def run(ctx: Context) -> list:
    reps, per_style = (1, 12) if ctx.quick else (4, 30)
    tables = []
    for caller, label in (("poll", "polls every 0.1 ms"), ("cpu", "CPU-bound")):
        results, failures = repeat(
            ctx,
            f"latency {caller}",
            reps,
            partial(one_program, ctx, caller=caller, per_style=per_style),
            tools=(*TOOLS, FLOOR),
        )
        for style in STYLES:
            table = Table(f"latency — {style} save, caller {label}", "ms, save to effect")
            for tool, runs in results.items():
                edits = Edits.total(r[style] for r in runs)
                table.add(tool, edits.samples, join_notes(edits.notes(), failed(failures[tool])))
            tables.append(table)
        if caller == "poll":
            tables += [from_start_table(results, style) for style in STYLES]
    return tables
