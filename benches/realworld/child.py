"""One package's upgrade N -> N+1 in this one live process; prints a JSON result on the last line.

python child.py live SPEC.json      import N, hold references, write N+1 over it, apply, measure
python child.py fresh SPEC.json     run N+1's tests in a fresh process (the baseline)
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import codecompare  # noqa: E402

MAX_INSTANCES = 200


def import_all(live_dir: Path, tops: list) -> list:
    """Imports every submodule of the package's top-level names; returns the modules that loaded."""
    modules = []
    for top in tops:
        try:
            package = importlib.import_module(top)
        except Exception:
            continue
        modules.append(package)
        path = getattr(package, "__path__", None)
        if path is None:
            continue
        for info in pkgutil.walk_packages(path, top + ".", onerror=lambda name: None):
            try:
                modules.append(importlib.import_module(info.name))
            except BaseException:  # a module that needs an optional dependency
                continue
    return [m for m in modules if getattr(m, "__file__", None)]


def hold_references(modules: list) -> list:
    """Public functions and classes, some instances and their bound methods: (kind, module, obj)."""
    refs, instances = [], 0
    for module in modules:
        for name, obj in list(vars(module).items()):
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                refs.append(("function", module.__name__, obj))
            elif inspect.isclass(obj):
                refs.append(("class", module.__name__, obj))
                if instances < MAX_INSTANCES and not issubclass(obj, BaseException):
                    instance = construct(obj)
                    if instance is not None:
                        instances += 1
                        refs.append(("instance", module.__name__, instance))
                        refs += bound_methods(module.__name__, obj, instance)
    return refs


def construct(cls: type):
    """An instance made with no arguments, or None when the class needs some."""
    try:
        return cls()
    except BaseException:
        return None


def bound_methods(module_name: str, cls: type, instance: object) -> list:
    found = []
    for name, value in vars(cls).items():
        if inspect.isfunction(value) and not name.startswith("__"):
            try:
                method = getattr(instance, name)
            except BaseException:
                continue
            if inspect.ismethod(method):
                found.append(("method", module_name, method))
    return found


def write_release(src: Path, live_dir: Path, tops: list) -> list:
    """Replaces the files of `tops` in live_dir with those of src; returns every path touched."""
    touched = []
    for top in tops:
        old_files = {
            p.relative_to(live_dir) for p in live_dir.joinpath(top).rglob("*") if p.is_file()
        }
        old_files |= {Path(top + ".py")} if live_dir.joinpath(top + ".py").exists() else set()
        new_root = src / top
        new_files = {p.relative_to(src) for p in new_root.rglob("*") if p.is_file()}
        new_files |= {Path(top + ".py")} if src.joinpath(top + ".py").exists() else set()
        for rel in sorted(new_files):
            target = live_dir / rel
            if target.exists() and target.read_bytes() == (src / rel).read_bytes():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, target)
            touched.append(target)
        for rel in sorted(old_files - new_files):
            (live_dir / rel).unlink()
            touched.append(live_dir / rel)
    return [p for p in touched if p.suffix == ".py"]


def run_tests(spec: dict) -> dict:
    """Runs N+1's tests with pytest in this process; returns {test id: outcome}."""
    import pytest

    outcomes = {}

    class Collect:
        def pytest_runtest_logreport(self, report):
            if report.when == "call" or report.outcome != "passed":
                previous = outcomes.get(report.nodeid)
                if previous in (None, "passed"):
                    outcomes[report.nodeid] = report.outcome

    args = [str(test_path(spec, t)) for t in spec["tests"]]
    args += [
        "-p",
        "no:cacheprovider",
        "-q",
        "--maxfail=100000",
        "--continue-on-collection-errors",
        "-o",
        "addopts=",
        "--rootdir",
        spec["sdist"],
        "-p",
        "no:randomly",
        "-W",
        "ignore",
    ]
    args += ["--timeout", str(spec["test_timeout"])] if has_timeout_plugin() else []
    args += spec.get("pytest_args", [])
    try:
        pytest.main(args, plugins=[Collect()])
    except BaseException as error:  # a test run that raised out of pytest still counts what ran
        outcomes["<pytest>"] = f"crashed: {error!r}"
    return outcomes


def test_path(spec: dict, test: str) -> Path:
    """Tests shipped inside the package run from the importable copy (N+1 in both processes):
    collecting the sdist's copy would clash with the already imported modules of the same name."""
    shipped = Path(spec["code_dir"]) / test
    return shipped if shipped.exists() else Path(spec["sdist"]) / test


def has_timeout_plugin() -> bool:
    try:
        import pytest_timeout  # noqa: F401
    except ImportError:
        return False
    return True


def live(spec: dict) -> dict:
    import hotswap

    live_dir, tops = Path(spec["live_dir"]), spec["tops"]
    sys.path.insert(0, str(live_dir))
    hotswap.install(str(live_dir))
    import pytest  # noqa: F401  (before release N: the test runner holds what it imports, too)

    modules = import_all(live_dir, tops)
    namespace = {m.__name__: m for m in modules if "." not in m.__name__}
    if spec.get("exercise"):
        try:
            exec(spec["exercise"], namespace)
        except Exception as error:
            print(f"exercise failed: {error!r}", file=sys.stderr)
    refs = hold_references(modules)
    old_sources = codecompare.sources(live_dir, tops)
    changed = write_release(Path(spec["new_dir"]), live_dir, tops)
    started = time.perf_counter()
    report = hotswap.reload_paths([str(p) for p in changed])
    wall_ms = (time.perf_counter() - started) * 1000
    # Modules new in N+1 are imported now, as the program would import them on first use.
    import_all(live_dir, tops)
    new_sources = codecompare.sources(live_dir, tops)
    defs = codecompare.changed_defs(old_sources, new_sources)
    # Only what a fresh start of N+1 binds counts (the fresh process ran first and says).
    bound = set(spec["bound"]) if spec.get("bound") else None
    if bound is not None:
        defs = [d for d in defs if f"{d.module}:{d.qualname}" in bound]
    result = {
        "modules": len(modules),
        "apply_ms": getattr(report, "duration_ms", wall_ms),
        "errors": len(report.errors),
        "rude": len(report.rude),
        "error_samples": [str(e)[:300] for e in list(report.errors)[:5]],
        "rude_samples": [str(e)[:300] for e in list(report.rude)[:5]],
        "defs": len(defs),
        "defs_new": sum(codecompare.live_matches(d, new_sources, bound) for d in defs),
        "stale_defs": [
            d.qualname for d in defs if not codecompare.live_matches(d, new_sources, bound)
        ][:20],
    }
    result.update(codecompare.check_refs(refs, new_sources, defs, bound))
    if spec.get("run_tests", True):
        result["tests"] = run_tests(spec)
    return result


def fresh(spec: dict) -> dict:
    """The oracle: N+1 started fresh. Its tests' outcomes, and which definitions a fresh
    import binds (one under `if __name__ == "__main__":` is not, and is not counted live)."""
    new_dir, tops = Path(spec["new_dir"]), spec["tops"]
    sys.path.insert(0, str(new_dir))
    import_all(new_dir, tops)
    bound = [
        f"{module}:{qualname}"
        for module, defs in codecompare.sources(new_dir, tops).items()
        for qualname in defs
        if codecompare.defined_in(codecompare.resolve(module, qualname), module)
    ]
    return {"tests": run_tests(spec), "bound": bound}


def main() -> None:
    mode, spec_path = sys.argv[1], sys.argv[2]
    spec = json.loads(Path(spec_path).read_text())
    result = live(spec) if mode == "live" else fresh(spec)
    Path(spec["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
