"""The real-world upgrade suite: for each package, upgrade release N to N+1 inside one live process.

    python benches/realworld/run.py [--quick] [--only PKG ...] [--results PATH]

Wheels and sdists are downloaded into benches/.work/realworld (git-ignored) on first use. Each
package runs in its own subprocess with a timeout (child.py). Writes benches/realworld/RESULTS.md.
"""

from __future__ import annotations

import argparse
import difflib
import json
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from packages import PACKAGES, Package  # noqa: E402

CACHE = HERE.parent / ".work" / "realworld"
PIP = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]


def download(pkg: Package) -> tuple:
    """(wheel of N, wheel of N+1, sdist of N+1), downloading the ones not cached yet."""
    where = CACHE / "downloads" / pkg.dist
    where.mkdir(parents=True, exist_ok=True)
    for version in (pkg.old, pkg.new):
        if not list(where.glob(f"*-{version}-*.whl")):
            subprocess.run(
                [
                    *PIP,
                    "download",
                    "--no-deps",
                    "--only-binary",
                    ":all:",
                    "-d",
                    str(where),
                    f"{pkg.dist}=={version}",
                ],
                check=True,
                timeout=300,
            )
    if not [p for p in where.glob(f"*-{pkg.new}.tar.gz")]:
        subprocess.run(
            [
                *PIP,
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(where),
                f"{pkg.dist}=={pkg.new}",
            ],
            check=True,
            timeout=300,
        )
    wheel = lambda v: next(where.glob(f"*-{v}-*.whl"))  # noqa: E731
    return wheel(pkg.old), wheel(pkg.new), next(where.glob(f"*-{pkg.new}.tar.gz"))


def unpack_wheel(wheel: Path, dest: Path) -> list:
    """Extracts the wheel's importable files; returns its top-level package/module names."""
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if ".dist-info/" not in n and ".data/" not in n]
        z.extractall(dest, names)
    tops = {n.split("/")[0] for n in names}
    return sorted(t[:-3] if t.endswith(".py") else t for t in tops)


def unpack_sdist(sdist: Path, dest: Path) -> Path:
    with tarfile.open(sdist) as t:
        t.extractall(dest, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(dest)
    return next(p for p in dest.iterdir() if p.is_dir())


def line_diff(old: Path, new: Path, tops: list) -> tuple:
    """(changed .py files, changed lines) between two unpacked releases."""
    files = lines = 0
    rel = lambda root: {p.relative_to(root) for t in tops for p in root.glob(f"{t}/**/*.py")}  # noqa: E731
    for path in sorted(rel(old) | rel(new)):
        a = (old / path).read_text(errors="replace").splitlines() if (old / path).exists() else []
        b = (new / path).read_text(errors="replace").splitlines() if (new / path).exists() else []
        if a != b:
            files += 1
            lines += sum(
                1
                for d in difflib.unified_diff(a, b, n=0, lineterm="")
                if d[:1] in "+-" and d[:3] not in ("+++", "---")
            )
    return files, lines


def child(mode: str, spec: dict, timeout: float) -> dict:
    """Runs child.py in a fresh process; a crash or a hang becomes a result, not an exception."""
    spec_file = Path(spec["out"] + ".spec.json")
    spec_file.write_text(json.dumps(spec))
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / "child.py"), mode, str(spec_file)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        code = proc.returncode
        tail = proc.stderr[-1500:]
    except subprocess.TimeoutExpired:
        code, tail = "timeout", ""
    out = Path(spec["out"])
    result = json.loads(out.read_text()) if out.exists() and code == 0 else {}
    result.update(exit=code, seconds=round(time.monotonic() - started, 1), stderr_tail=tail)
    return result


def run_package(pkg: Package, quick: bool, timeout: float) -> dict:
    wheel_old, wheel_new, sdist = download(pkg)
    if pkg.deps or pkg.test_deps:
        subprocess.run([*PIP, "install", *pkg.deps, *pkg.test_deps], check=True, timeout=600)
    work = Path(tempfile.mkdtemp(prefix=f"realworld-{pkg.dist}-"))
    tops = unpack_wheel(wheel_old, work / "live")
    unpack_wheel(wheel_old, work / "old")
    unpack_wheel(wheel_new, work / "new")
    tops = sorted(set(tops) | set(unpack_wheel(wheel_new, work / "new")))
    sdist_dir = unpack_sdist(sdist, work / "sdist")
    files, lines = line_diff(work / "old", work / "new", tops)
    spec = dict(
        live_dir=str(work / "live"),
        new_dir=str(work / "new"),
        tops=tops,
        sdist=str(sdist_dir),
        tests=list(pkg.tests),
        exercise=pkg.exercise,
        test_timeout=10 if quick else 30,
        pytest_args=list(pkg.pytest_args),
    )
    # The oracle first: the live process counts only what a fresh start of N+1 binds.
    fresh = child(
        "fresh", dict(spec, out=str(work / "fresh.json"), code_dir=spec["new_dir"]), timeout
    )
    live_spec = dict(spec, bound=fresh.get("bound"), code_dir=spec["live_dir"])
    live = child("live", dict(live_spec, out=str(work / "live.json")), timeout)
    return dict(
        pkg=pkg.dist, old=pkg.old, new=pkg.new, files=files, lines=lines, live=live, fresh=fresh
    )


def regressions(row: dict) -> tuple:
    """(tests that pass fresh but not live, tests run live); none when the live process died
    before its tests (the died column says so)."""
    live, fresh = row["live"].get("tests", {}), row["fresh"].get("tests", {})
    if row["live"].get("exit") != 0:
        return [], 0
    bad = sorted(t for t, o in fresh.items() if o == "passed" and live.get(t) != "passed")
    return bad, len(live)


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


TABLE_HEAD = [
    "| package | N -> N+1 | changed files | changed lines | changed defs | defs running N+1 |"
    " held refs (to changed code) | refs running N+1 | test regressions / tests run |"
    " apply ms | errors / rude | died |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def row_line(r: dict) -> str:
    live = r["live"]
    bad, ran = regressions(r)
    died = f"yes ({live.get('exit')})" if live.get("exit") != 0 else "no"
    return (
        f"| {r['pkg']} | {r['old']} -> {r['new']} | {r['files']} | {r['lines']} |"
        f" {live.get('defs', '-')} | {live.get('defs_new', '-')} | {live.get('refs', '-')} |"
        f" {live.get('refs_new', '-')} | {len(bad)} / {ran} | {live.get('apply_ms', 0):.0f} |"
        f" {live.get('errors', '-')} / {live.get('rude', '-')} | {died} |"
    )


def total_line(rows: list) -> str:
    """Sums over the packages, with the share of changed defs and held refs that run N+1."""
    live = [r["live"] for r in rows]
    defs, new = sum(x.get("defs", 0) for x in live), sum(x.get("defs_new", 0) for x in live)
    refs, rnew = sum(x.get("refs", 0) for x in live), sum(x.get("refs_new", 0) for x in live)
    bad = sum(len(regressions(r)[0]) for r in rows)
    ran = sum(regressions(r)[1] for r in rows)
    died = sum(x.get("exit") != 0 for x in live)
    return (
        f"| **total** | {len(rows)} packages | | | {defs} | {new} ({pct(new, defs)}) | {refs} |"
        f" {rnew} ({pct(rnew, refs)}) | {bad} / {ran} | | | {died} |"
    )


def table(rows: list) -> list:
    return TABLE_HEAD + [row_line(r) for r in rows] + [total_line(rows)]


def details(rows: list) -> list:
    out = []
    for r in rows:
        live = r["live"]
        bad, _ = regressions(r)
        out += [
            f"### {r['pkg']} {r['old']} -> {r['new']}",
            "",
            f"- live process: exit {live.get('exit')}, {live.get('seconds')} s; fresh tests:"
            f" exit {r['fresh'].get('exit')}, {len(r['fresh'].get('tests', {}))} tests",
        ]
        if live.get("exit") != 0:
            out.append(
                f"- live process stderr: `{' '.join(live.get('stderr_tail', '').split())[-600:]}`"
            )
        for key, label in (
            ("error_samples", "errors"),
            ("rude_samples", "not applied in place"),
            ("stale_defs", "defs still on N"),
            ("stale_refs", "refs still on N"),
        ):
            if live.get(key):
                out.append(
                    f"- {label} (first {len(live[key])}): "
                    + "; ".join(f"`{s}`".replace("\n", " ") for s in live[key])
                )
        if bad:
            out.append(
                f"- regressions (first 10 of {len(bad)}): " + "; ".join(f"`{t}`" for t in bad[:10])
            )
        out.append("")
    return out


def write_results(path: Path, rows: list, command: str, started: float) -> None:
    head = [
        "# hotswap real-world upgrade suite",
        "",
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))},"
        f" took {(time.time() - started) / 60:.1f} min; Python {platform.python_version()}",
        "- each row: one process imports release N, holds references, gets N+1 written over it,"
        " applies it with hotswap.reload_paths, then measures; regressions are tests of N+1's sdist"
        " that pass in a fresh process on N+1 but not in the live one",
        "",
    ]
    path.write_text("\n".join(head + table(rows) + [""] + details(rows)) + "\n")


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the small, fast packages")
    parser.add_argument("--only", nargs="+", metavar="PKG")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per package process")
    args = parser.parse_args(argv)
    chosen = [
        p
        for p in PACKAGES
        if (not args.only or p.dist in args.only) and (args.only or not args.quick or p.quick)
    ]
    started, rows = time.time(), []
    # pytest 7: some N+1 test suites (boltons) still use hooks that pytest 8 removed.
    subprocess.run([*PIP, "install", "pytest>=7.4,<8", "pytest-timeout"], check=True, timeout=300)
    for pkg in chosen:
        print(f"==> {pkg.dist} {pkg.old} -> {pkg.new}", flush=True)
        try:
            rows.append(run_package(pkg, args.quick, args.timeout))
        except Exception as error:  # a download or install failure: say so, go on
            print(f"    skipped: {error!r}", flush=True)
            continue
        write_results(
            args.results,
            rows,
            " ".join(["benches/realworld/run.py", *(argv or sys.argv[1:])]),
            started,
        )
    print("\n".join(table(rows)))
    return rows


if __name__ == "__main__":
    main()
