"""threads: version consistency under a busy worker thread. One outer call runs a(), b() and
K().m() of a module whose three definitions each return the module's version; every edit bumps
the version in all three at once. A mixed outer call saw old and new versions in one call (the
edit was applied between two of its calls). Reports mixed outer calls per 100 edits and the
save-to-effect latency (first outer call that sees the new version everywhere). hotswap only,
with its commit waiting for the worker to leave the module (the default, ``HOTSWAP_QUIESCE_MS``
unset: at most 50 ms) and without (``HOTSWAP_QUIESCE_MS=0``, the behaviour before that wait
existed); and with a busy worker (always calling) and an idle one (1 ms sleep between calls:
almost never inside when an edit arrives)."""

from __future__ import annotations

import time

from harness import PYTHON, Child, Context, Edits, Table, child_env, value_is

NAME = "threads"
EDITS = 100
LOST_AFTER = 2.0

PROGRAM = """\
import sys
import threading
import time
import child
child.prepare()
import versioned
child.start()

def outer():
    return versioned.a(), versioned.b(), versioned.K().m()

def worker(pause):
    mixed, newest = 0, -1
    while True:
        if pause:
            time.sleep(pause)
        seen = outer()
        if len(set(seen)) > 1:
            mixed += 1
            child.report("mixed", mixed)
        elif seen[0] != newest:
            newest = seen[0]
            child.report("seen", newest, time.monotonic_ns(), mixed)

child.report("ready")
threading.Thread(target=worker, args=(float(sys.argv[1]),), daemon=True).start()
while True:
    time.sleep(1)
"""


def module_source(version: int) -> str:
    """Three definitions carrying one version; padding so that applying an edit takes some work."""
    padding = "\n".join(f"def helper_{i}(x):\n    return x + {i}\n" for i in range(20))
    return (
        f"{padding}\n\ndef a():\n    return {version}\n\n\ndef b():\n    return {version}\n\n\n"
        f"class K:\n    def m(self):\n        return {version}\n"
    )


def one_program(ctx: Context, edits: int, pause: float, quiesce: dict) -> tuple:
    """(Edits, mixed outer calls) over ``edits`` edits of one program under hotswap; the worker
    sleeps ``pause`` seconds between outer calls; ``quiesce`` is extra environment."""
    root = ctx.project("threads", {"versioned.py": module_source(0), "prog.py": PROGRAM})
    result, mixed = Edits(), 0
    with Child([PYTHON, "prog.py", str(pause)], root, child_env("hotswap", **quiesce)) as child:
        child.need("ready", 60)
        child.need("seen", 10)
        time.sleep(0.2)
        for version in range(1, edits + 1):
            time.sleep(0.03)
            fields = result.observe(
                child,
                root / "versioned.py",
                module_source(version),
                value_is(version),
                timeout=LOST_AFTER,
            )
            if fields is not None:
                mixed = max(mixed, int(fields[2]))
        time.sleep(0.2)
        while (fields := child.expect("mixed", 0.05)) is not None:
            mixed = max(mixed, int(fields[0]))
    ctx.drop(root)
    return result, mixed


WORKERS = (("busy worker", 0.0), ("idle worker", 0.001))
QUIESCE = (("hotswap", {}), ("hotswap, HOTSWAP_QUIESCE_MS=0", {"HOTSWAP_QUIESCE_MS": "0"}))


def run(ctx: Context) -> list:
    edits = 30 if ctx.quick else EDITS
    consistency = Table("threads — mixed outer calls per 100 edits", "count; goal 0")
    tables = [consistency]
    for worker, pause in WORKERS:
        latency = Table(f"threads — save to effect, {worker}", "ms")
        for label, env in QUIESCE:
            ctx.log(f"threads: {worker}, {label}")
            result, mixed = one_program(ctx, edits, pause, env)
            per_100 = 100 * mixed / edits
            consistency.add(f"{label} ({worker})", [per_100], f"{mixed} in {edits} edits")
            latency.add(label, result.samples, result.notes())
        tables.append(latency)
    consistency.reference = consistency.rows[0].tool
    return tables
