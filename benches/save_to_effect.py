"""Save-to-effect latency: from the moment a save completes to the moment the running program
sees the new code, for a small module, with plain and atomic (``os.replace``) saves.

Run: ``.venvs/3.11/bin/python benches/save_to_effect.py [--edits N]``. The program runs in its
own process and polls the edited function every 0.1 ms; both processes read CLOCK_MONOTONIC,
which is shared across processes on Linux. Prints medians and p90 per save style.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import sys, time, hotswap
    hotswap.install(".")
    import small
    watcher = hotswap.watch(".")
    print("ready", flush=True)
    last = small.version()
    while True:
        v = small.version()
        if v != last:
            print(v, time.monotonic_ns(), flush=True)
            last = v
            if v < 0:
                break
        time.sleep(0.0001)
    """
)


def module_source(version: int) -> str:
    lines = [f"def helper_{i}(x):\n    return x + {i}\n" for i in range(6)]
    return "\n".join(lines) + f"\ndef version():\n    return {version}\n"


def save(path: Path, text: str, style: str) -> None:
    if style == "plain":
        path.write_text(text)
    else:
        tmp = path.with_name(path.name + ".tmp-save")
        tmp.write_text(text)
        os.replace(tmp, path)


def measure(style: str, edits: int) -> tuple[list, int]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "small.py").write_text(module_source(0))
        (root / "prog.py").write_text(PROGRAM)
        proc = subprocess.Popen(
            [sys.executable, "prog.py"], cwd=root, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        latencies, lost = [], 0
        for version in range(1, edits + 1):
            time.sleep(0.03)
            start = time.monotonic_ns()
            save(root / "small.py", module_source(version), style)
            seen, stamp = proc.stdout.readline().split()
            if int(seen) != version:
                lost += 1
                continue
            latencies.append((int(stamp) - start) / 1e6)
        save(root / "small.py", module_source(-1), style)
        proc.wait(timeout=10)
        return latencies, lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {args.edits} edits per style, 20-line module")
    for style in ("plain", "atomic"):
        latencies, lost = measure(style, args.edits)
        q = statistics.quantiles(latencies, n=10)
        print(
            f"{style:7} p50 {statistics.median(latencies):6.2f} ms   p90 {q[-1]:6.2f} ms   "
            f"max {max(latencies):6.2f} ms   lost {lost}"
        )


if __name__ == "__main__":
    main()
