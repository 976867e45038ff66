"""workers: time from a save to the moment all 4 worker processes of a multiprocessing pool run
the new code, under ``hotswap main.py``, for the fork and spawn start methods (forkserver is
fork-based in the children).

Each worker holds one task that polls the edited function every 0.1 ms and reports
``CLOCK_MONOTONIC`` (shared by all processes on Linux) when it first sees a new value. The
harness saves the module (atomic save), reads the clock right after the save returns, and takes
the latest of the four workers' times. Usage::

    .venvs/3.11/bin/python benches/bench_workers.py [--edits 30] [--methods fork spawn]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

WORKERS = 4

PROGRAM = """\
import json, os, sys, time
import multiprocessing as mp
import work

def init(barrier, queue):
    global BARRIER, QUEUE
    BARRIER, QUEUE = barrier, queue

def watch(last):
    BARRIER.wait(timeout=30)
    seen = None
    while seen != last:
        value = work.version()
        if value != seen:
            QUEUE.put((os.getpid(), value, time.monotonic()))
            seen = value
        time.sleep(0.0001)

if __name__ == "__main__":
    method, last = sys.argv[1], int(sys.argv[2])
    ctx = mp.get_context(method)
    queue = ctx.Queue()
    with ctx.Pool({workers}, initializer=init, initargs=(ctx.Barrier({workers}), queue)) as pool:
        result = pool.map_async(watch, [last] * {workers}, chunksize=1)
        while not result.ready() or not queue.empty():
            try:
                pid, value, at = queue.get(timeout=0.1)
            except Exception:
                continue
            print(json.dumps([pid, value, at]), flush=True)
        result.get()
""".replace("{workers}", str(WORKERS))


def module(version: int) -> str:
    return f"def version():\n    return {version}\n"


def save(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def measure(method: str, edits: int) -> list:
    with tempfile.TemporaryDirectory(prefix="hotswap-bench-workers-") as root:
        work = os.path.join(root, "work.py")
        save(work, module(0))
        with open(os.path.join(root, "main.py"), "w") as f:
            f.write(PROGRAM)
        proc = subprocess.Popen(
            [sys.executable, "-m", "hotswap", "-q", "main.py", method, str(edits)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:

            def wait_for(value: int) -> float:
                seen = {}
                while len(seen) < WORKERS:
                    line = proc.stdout.readline()
                    if not line:
                        raise RuntimeError(f"the program exited ({proc.wait()})")
                    pid, got, at = json.loads(line)
                    if got == value:
                        seen[pid] = at
                return max(seen.values())

            wait_for(0)
            latencies = []
            for version in range(1, edits + 1):
                time.sleep(0.2)
                save(work, module(version))
                saved = time.monotonic()
                latencies.append((wait_for(version) - saved) * 1000)
            proc.wait(timeout=30)
            return latencies
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--methods", nargs="+", default=["fork", "spawn"])
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.edits} edits each")
    print("| start method | median ms | p90 ms | max ms |")
    print("|---|---|---|---|")
    for method in args.methods:
        ms = sorted(measure(method, args.edits))
        p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
        print(f"| {method} | {statistics.median(ms):.1f} | {p90:.1f} | {ms[-1]:.1f} |")


if __name__ == "__main__":
    main()
