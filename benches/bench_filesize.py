"""filesize: save-to-effect in one module of 100 to 50,000 lines of generated functions, for a
value edit (the last function's return value, same line count) and a line-shifting edit (a line
inserted near the top, plus the same kind of value change, so every function below moves). An
edit not seen within 30 s did not apply, and the program stops there. After a line-shifting
edit, an unchanged function near the bottom must report its new line (``co_firstlineno``). With
10,000 lines and more the program also holds 1 million live objects (small lists)."""

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

NAME = "filesize"
TIMEOUT = 30.0  # seconds: an edit not seen by then "did not apply"

PROGRAM = """\
import gc, sys
import child
gc.disable()
heap = [[i, i] for i in range(int(sys.argv[1]))]
gc.enable()
child.prepare()
import big
tick, _ = child.start()
child.report("ready")
child.observe(lambda: f"{big.probe()}:{big.anchor.__code__.co_firstlineno}", tick, period=0.001)
"""


def heap_for(lines: int) -> int:
    """Live objects the program holds: a large heap beside the large files, as in a real
    program (the 10,000-line target is stated with 1 million objects)."""
    return 1_000_000 if lines >= 10_000 else 0


def module_source(lines: int, version: int, shift: int) -> tuple:
    """The module's text and the line of ``anchor``: ``shift`` lines inserted near the top,
    generated functions, then ``anchor`` and ``probe`` (which returns ``version``) at the end."""
    head = ['"""A generated module."""'] + [f"SHIFT_{i} = {i}" for i in range(shift)]
    body = []
    for i in range(max(1, (lines - 7) // 4)):
        body += [f"def f_{i}(x):", f"    y = x * {i} + 1", f"    return y - {i}", ""]
    anchor_line = len(head) + len(body) + 1
    tail = [
        "def anchor():",
        "    return 0",
        "",
        "def probe():",
        f"    return {version}",
    ]
    return "\n".join(head + body + tail) + "\n", anchor_line


def one_program(ctx: Context, tool: str, lines: int, edits: int) -> tuple:
    """``edits`` value edits and ``edits`` line-shifting edits, alternating."""
    root = ctx.project("filesize", {"big.py": module_source(lines, 0, 0)[0], "prog.py": PROGRAM})
    results = {"value": Edits(), "shift": Edits()}
    stale = 0
    with Child([PYTHON, "prog.py", str(heap_for(lines))], root, child_env(tool)) as child:
        child.need("ready", 120)
        child.need("seen", 30)
        time.sleep(0.2)
        shift = 0
        for version in range(1, 2 * edits + 1):
            kind = "value" if version % 2 else "shift"
            shift += kind == "shift"
            text, anchor = module_source(lines, version, shift)
            fields = results[kind].observe(
                child, root / "big.py", text, value_is(version), timeout=TIMEOUT
            )
            if fields is None:
                for edits in results.values():
                    edits.stopped = "a program stopped at its first edit that did not apply"
                break
            if kind == "shift" and fields[0] != f"{version}:{anchor}":
                # The new value is visible; give the line numbers one more second to follow.
                later = child.wait_for(
                    "seen", lambda f, want=f"{version}:{anchor}": f[0] == want, 1.0
                )
                stale += later is None
            time.sleep(0.05)
    ctx.drop(root)
    return results, stale


def run(ctx: Context) -> list:
    sizes = (100, 1_000, 10_000) if ctx.quick else (100, 1_000, 10_000, 50_000)
    reps, edits = (1, 1) if ctx.quick else (3, 3)
    tables = []
    for lines in sizes:
        results, failures = repeat(
            ctx,
            f"filesize {lines:,} lines",
            reps,
            partial(one_program, ctx, lines=lines, edits=edits),
        )
        for kind, what in (("value", "value edit"), ("shift", "line-shifting edit")):
            heap = f" (+{heap_for(lines):,} live objects)" if heap_for(lines) else ""
            table = Table(f"filesize — {lines:,}-line module{heap}, {what}", "ms, save to effect")
            for tool, runs in results.items():
                result = Edits.total(r[0][kind] for r in runs)
                stale = sum(r[1] for r in runs)
                notes = join_notes(
                    result.notes(lost="did not apply:"),
                    f"unchanged functions kept stale line numbers after {stale} edit(s)"
                    if kind == "shift" and stale
                    else "",
                    failed(failures[tool]),
                )
                table.add(tool, result.samples, notes)
            tables.append(table)
    return tables
