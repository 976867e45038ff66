"""cluster: time from a save on the driver to every Ray / Dask worker running the new code.

    python benches/bench_cluster.py [--edits 20] [--workers 2 4 8] [--out FILE]

For each engine and worker count, a driver process (this script, run again with ``--one``)
starts a local cluster on this machine (Ray: ``ray.init(num_cpus=2)`` and N actors with
``num_cpus=0``; Dask: ``LocalCluster(n_workers=N, processes=True)``), turns hotswap on, makes
every worker hold the module, then saves the module (atomically) EDITS times. One sample is
the time from just before the save to the driver holding every worker's answer for that batch
(each worker answers once it has applied the edit). Every batch is checked: every worker
answered, none reported an error, and afterwards each actor / worker returns the new version.
Needs the ray and dask extras (Python 3.11 here).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def module_source(version: int) -> str:
    padding = "\n".join(f"def helper_{i}(x):\n    return x + {i}\n" for i in range(20))
    return f"{padding}\n\ndef version():\n    return {version}\n"


def save(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def measure(link, path: Path, edits: int, check) -> dict:
    samples, answered = [], []
    for version in range(1, edits + 1):
        time.sleep(0.3)  # separate saves: one batch each
        started = time.perf_counter()
        save(path, module_source(version))
        report = link.wait_for_batch(60)
        samples.append((time.perf_counter() - started) * 1000.0)
        if report.errors or report.updated != report.expected:
            raise SystemExit(f"batch {version}: {report!r} {report.errors}")
        answered.append(report.updated)
        check(version)
    return {"samples": samples, "answered": answered}


def run_ray(workers: int, edits: int, root: Path) -> dict:
    import hotswap.ray
    import ray

    link = hotswap.ray.enable(
        str(root), num_cpus=2, include_dashboard=False, log_to_driver=False, log=False
    )
    import benchmod

    @ray.remote(num_cpus=0)
    class Holder:
        def version(self):
            return benchmod.version()

    holders = [Holder.remote() for _ in range(workers)]
    ray.get([h.version.remote() for h in holders])
    time.sleep(3)  # every worker process of the job has started its receiver

    def check(version: int) -> None:
        seen = ray.get([h.version.remote() for h in holders])
        if seen != [version] * workers:
            raise SystemExit(f"after edit {version} the actors run {seen}")

    try:
        return measure(link, root / "benchmod.py", edits, check)
    finally:
        link.stop()
        ray.shutdown()


def run_dask(workers: int, edits: int, root: Path) -> dict:
    import hotswap.dask
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = Client(cluster)
    link = hotswap.dask.enable(client, str(root), log=False)
    import benchmod

    addresses = sorted(client.scheduler_info()["workers"])

    def on_each():
        futures = [client.submit(benchmod.version, workers=[a], pure=False) for a in addresses]
        return client.gather(futures)

    on_each()

    def check(version: int) -> None:
        seen = on_each()
        if seen != [version] * workers:
            raise SystemExit(f"after edit {version} the workers run {seen}")

    try:
        return measure(link, root / "benchmod.py", edits, check)
    finally:
        link.stop()
        client.close()
        cluster.close()


def one(engine: str, workers: int, edits: int) -> None:
    """Run one configuration in this process (a fresh driver) and print its samples as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "benchmod.py").write_text(module_source(0))
        sys.path.insert(0, str(root))
        os.chdir(root)
        runner = run_ray if engine == "ray" else run_dask
        print("@@RESULT " + json.dumps(runner(workers, edits, root)), flush=True)


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def table(results: list) -> list:
    lines = [
        "| engine | workers | answering processes | median | p90 | max | n |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for engine, workers, result in results:
        s = result["samples"]
        answering = sorted(set(result["answered"]))
        shown = "/".join(str(a) for a in answering)
        lines.append(
            f"| {engine} | {workers} | {shown} | {statistics.median(s):.1f} ms "
            f"| {percentile(s, 0.9):.1f} ms | {max(s):.1f} ms | {len(s)} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--engines", nargs="+", default=["dask", "ray"])
    parser.add_argument("--out", default=str(HERE / "RESULTS-cluster.md"))
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]), args.edits)
        return
    started = time.time()
    results = []
    for engine in args.engines:
        for workers in args.workers:
            command = [sys.executable, __file__, "--one", engine, str(workers)]
            out = subprocess.run(
                command + ["--edits", str(args.edits)], capture_output=True, text=True
            )
            line = next((x for x in out.stdout.splitlines() if x.startswith("@@RESULT ")), None)
            if line is None:
                raise SystemExit(f"{engine} x{workers} failed:\n{out.stdout}\n{out.stderr[-3000:]}")
            results.append((engine, workers, json.loads(line[9:])))
            print(table(results)[-1], flush=True)
    write(Path(args.out), results, started, args)


def write(path: Path, results: list, started: float, args) -> None:
    from importlib import metadata

    sys.path.insert(0, str(HERE))
    from run import machine

    versions = ", ".join(f"{d} {metadata.version(d)}" for d in ("hotswap", "ray", "distributed"))
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    head = [
        "# hotswap cluster benchmark: save to every worker updated",
        "",
        f"- command: `python benches/bench_cluster.py --edits {args.edits} "
        f"--workers {' '.join(map(str, args.workers))}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
        f"took {(time.time() - started) / 60:.1f} min",
        f"- machine: {machine()}; load average when written (1/5/15 min): {load}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- {versions}",
        "- one sample: from just before an atomic save on the driver to the driver holding "
        "every worker's answer for that batch (each answers after applying it); medians over "
        "the edits; one local cluster per row, all processes on this machine",
        "- answering processes: worker processes that answered each batch (Ray: the actors "
        "plus the job's idle pooled workers, which are updated too; Dask: the workers)",
        "",
    ]
    goal = [
        "",
        "Goal (issue 16): under 100 ms for 8 workers on one machine.",
        "",
    ]
    path.write_text("\n".join(head + table(results) + goal))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
