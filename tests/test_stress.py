"""A worker thread keeps calling functions while 1,000 batches are applied: no exception, no lost
edit, and no call sequence that sees part of a batch (once one function of a batch runs its new
version, every later call of the others runs it too)."""

import sys

MODULE = """
def a():
    return {n}

def b():
    return {n}

def c():
    return {n}
"""


def test_thread_stress_1000_batches(project):
    project.write("m.py", MODULE.format(n=0))
    prog = project.start()
    prog.exec(
        f"""
        import sys, threading, hotswap, m
        sys.setswitchinterval(0.0005)  # switch threads often, to give mixes every chance
        MODULE = {MODULE!r}
        stop = threading.Event()
        stats = {{"calls": 0, "errors": 0, "mixed": 0, "backwards": 0}}

        def worker():
            highest = 0
            while not stop.is_set():
                try:
                    va, vb, vc = m.a(), m.b(), m.c()
                except Exception:
                    stats["errors"] += 1
                    continue
                stats["calls"] += 1
                if not (va <= vb <= vc):
                    stats["mixed"] += 1
                if va < highest:
                    stats["backwards"] += 1
                highest = max(highest, vc)

        thread = threading.Thread(target=worker)
        thread.start()
        watcher = hotswap.watch(".")
        lost = []
        noted = 0
        for n in range(1, 1001):
            with open("m.py", "w") as f:
                f.write(MODULE.format(n=n))
            try:
                report = watcher.wait_for_reload(10)
            except TimeoutError:
                lost.append(n)
                continue
            noted += bool(report.notes)
            if set(report.updated) != {{"m.a", "m.b", "m.c"}} or (m.a(), m.b(), m.c()) != (n, n, n):
                lost.append(n)
        stop.set()
        thread.join()
        watcher.stop()
        """,
        timeout=300,
    )
    stats = prog.eval("stats")
    assert prog.eval("lost") == []
    assert stats["errors"] == 0
    # The worker's loop is parked by the first batch (one note); its statement calling a(), b()
    # and c() is still waited for. A batch may be seen half applied only where its report said
    # it was committed with the worker inside (the worker got no CPU through the bound).
    noted = prog.eval("noted")
    assert noted <= 10, noted
    assert stats["mixed"] <= noted + 1, (stats, noted)  # + 1: see test_threads_consistency.py
    assert stats["backwards"] == 0
    assert stats["calls"] > 1000, stats
    print(f"python {sys.version_info[:2]}: {stats}")
