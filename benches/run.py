"""Run hotswap's benchmark suite against jurigged and IPython's autoreload; write RESULTS.md.

    python benches/run.py [--quick] [--only NAME ...]

Run it with the interpreter of the bench virtualenv (hotswap, jurigged, ipython, psutil, and
numpy + pandas for the startup measurement). See benches/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import previous  # noqa: E402
import targets  # noqa: E402
from harness import BENCHES, Context, kill_all  # noqa: E402

MEASUREMENTS = (
    "latency",
    "filesize",
    "heap",
    "files",
    "batch",
    "startup",
    "cpu",
    "memory",
    "threads",
)


def versions() -> str:
    found = []
    for dist in ("hotswap", "jurigged", "ipython", "watchdog", "numpy", "pandas"):
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            found.append(f"{dist} (not installed)")
    return ", ".join(found)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.0f} GiB"
    except OSError:
        mem = "?"
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{platform.system()} {platform.release()}, {cpu}, {cores} cores, {mem} RAM"


def write_results(path: Path, command: str, sections: dict, started: float, quick: bool) -> None:
    """The whole RESULTS.md; ``sections`` maps a name to (doc, tables, error, when measured),
    in the order they are written (this run's and those carried over from the file)."""
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    carried = [name for name, section in sections.items() if section[3] != "this run"]
    head = [
        "# hotswap benchmark results",
        "",
        f"- command: `{command}`" + (" (quick mode)" if quick else ""),
        f"- date: {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))}, "
        f"took {(time.time() - started) / 60:.1f} min",
        f"- machine: {machine()}; load average when written (1/5/15 min): {load}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- {versions()}",
        "- ratio = peer median / hotswap median (above 1: hotswap is faster or smaller);"
        " p90 is the 90th percentile; n is the number of samples",
    ]
    if carried:
        head.append(
            f"- not measured by this command, carried over from earlier runs (dated in each"
            f" section): {', '.join(carried)}"
        )
    head.append("")
    every_table = [table for _, tables, _, _ in sections.values() for table in tables]
    body = [targets.markdown(every_table), ""]
    stamp = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(started))
    for name, (doc, tables, error, when) in sections.items():
        measured = stamp if when == "this run" else when
        body += [f"## {name}", "", doc, "", f"Measured {measured}.", ""]
        for table in tables:
            body += [table.markdown(), ""]
        if error:
            body += [f"**failed:** `{error}`", ""]
    path.write_text("\n".join(head + body))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, small sizes")
    parser.add_argument("--only", nargs="+", choices=MEASUREMENTS, metavar="NAME")
    parser.add_argument("--out", type=Path, default=BENCHES / "RESULTS.md")
    parser.add_argument(
        "--retarget",
        action="store_true",
        help="measure nothing: write the file again from its sections (after a merge, or a"
        " change of benches/targets.py), with the targets table computed over them",
    )
    args = parser.parse_args()
    names = [] if args.retarget else (args.only or MEASUREMENTS)
    command = shlex.join(["python", "benches/run.py", *sys.argv[1:]])
    started = time.time()
    # Measurements not run now keep their last figures, so the file (and its targets) is whole.
    earlier = previous.read(args.out, [n for n in MEASUREMENTS if n not in names])
    sections = {name: earlier[name] for name in MEASUREMENTS if name in earlier}
    with tempfile.TemporaryDirectory(prefix="hotswap-bench-") as scratch:
        ctx = Context(quick=args.quick, scratch=Path(scratch))
        for name in names:
            module = importlib.import_module(f"bench_{name}")
            doc = " ".join(module.__doc__.split())
            print(f"== {name}", flush=True)
            began = time.time()
            tables, error = [], None
            try:
                tables = module.run(ctx)
            except KeyboardInterrupt:
                kill_all()
                raise
            except Exception as exc:  # one broken measurement must not lose the others
                traceback.print_exc()
                error = f"{type(exc).__name__}: {exc}"
            finally:
                kill_all()
            print(f"   {name} took {time.time() - began:.0f} s", flush=True)
            for table in tables:
                print(table.markdown() + "\n", flush=True)
            sections[name] = (doc, tables, error, "this run")
            sections = {n: sections[n] for n in MEASUREMENTS if n in sections}
            write_results(args.out, command, sections, started, args.quick)
    if not names:
        write_results(args.out, command, sections, started, args.quick)
    print(f"wrote {args.out} in {(time.time() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
