"""The measured program's side of the protocol (imported by the generated programs only).

``BENCH_TOOL`` names the reloader to drive: ``hotswap``, ``jurigged``, ``ipython``, ``floor``
(``benches/floor.py``: inotify, compile the whole file, swap ``__code__``) or ``none``.
The watched root is the program's working directory. A program calls ``prepare()`` before
importing the watched modules, ``start()`` after, then calls the returned ``tick`` once per
iteration of its loop (IPython's reloader checks there, as IPython does before each cell).
"""

from __future__ import annotations

import gc
import os
import sys
import time
import types

TOOL = os.environ.get("BENCH_TOOL", "none")
ROOT = os.getcwd()
_keep = []


def report(key: str, *fields: object) -> None:
    print("@@", key, *fields, flush=True)


def _noop() -> None:
    pass


def _jurigged_errors(event: object) -> None:
    # jurigged's default logger prints every update to stdout; keep only the errors (stderr).
    if isinstance(event, Exception):
        print(f"jurigged: {event!r}", file=sys.stderr)


def prepare() -> None:
    """Import the tool (not timed) and, for hotswap, record sources as modules are imported."""
    if TOOL == "hotswap":
        import hotswap

        hotswap.install(ROOT)
    elif TOOL == "jurigged":
        import jurigged  # noqa: F401
    elif TOOL == "ipython":
        from IPython.extensions import autoreload  # noqa: F401
    elif TOOL == "floor":
        import floor  # noqa: F401


def start(on_reload=None):
    """Start watching ROOT; returns (tick, seconds the start took). ``on_reload`` is given to
    ``hotswap.watch`` (called with each batch's report); the peers have no such callback."""
    tick = _noop
    began = time.perf_counter()
    if TOOL == "hotswap":
        import hotswap

        _keep.append(hotswap.watch(ROOT, on_reload=on_reload))
    elif TOOL == "jurigged":
        import jurigged

        # A directory pattern means every file below it; default debounce (0.05 s).
        _keep.append(jurigged.watch(ROOT, logger=_jurigged_errors))
    elif TOOL == "ipython":
        from IPython.extensions.autoreload import ModuleReloader

        # What `%autoreload 2` sets up; its constructor records every module's mtime.
        reloader = ModuleReloader()
        reloader.enabled = True
        reloader.check_all = True
        reloader.check()
        tick = reloader.check
    elif TOOL == "floor":
        import floor

        _keep.append(floor.watch(ROOT))
    return tick, time.perf_counter() - began


def spin(n: int = 300) -> int:
    """A slice of CPU-bound work between two calls of the observed function."""
    acc = 0
    for i in range(n):
        acc += i * i % 7
    return acc


def observe(read, tick, cpu_bound: bool = False, period: float = 0.0001, until=None) -> None:
    """Call ``read()`` forever; report each new value with the time it was first seen.

    Between two reads the loop sleeps ``period`` seconds, or spins on arithmetic when
    ``cpu_bound``. ``until(value)`` is called with each new value; True leaves the loop. An
    exception from ``read()`` (a module caught half-reloaded) becomes the value ``error:<type>``.
    """
    last = _safe(read)
    report("seen", last, time.monotonic_ns())
    while True:
        value = _safe(read)
        if value != last:
            report("seen", value, time.monotonic_ns())
            last = value
            if until is not None and until(value):
                return
        tick()
        if cpu_bound:
            spin()
        else:
            time.sleep(period)


def _safe(read):
    try:
        return read()
    except Exception as exc:
        return f"error:{type(exc).__name__}"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def live_code_objects(filename: str) -> int:
    """Code objects from ``filename`` reachable from the GC-tracked heap (code objects are not
    tracked themselves: they are found as referents, then through their ``co_consts``)."""
    gc.collect()
    found = {}
    stack = [
        ref
        for obj in gc.get_objects()
        for ref in gc.get_referents(obj)
        if isinstance(ref, types.CodeType)
    ]
    while stack:
        code = stack.pop()
        if id(code) not in found:
            found[id(code)] = code
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return sum(1 for code in found.values() if code.co_filename == filename)
