"""Makes a Python process live from its start when ``HOTSWAP_WATCH`` is set.

``hotswap.pth`` (installed into site-packages with hotswap) imports this module at interpreter
start, only when the variable is set, so processes started without it pay one dictionary
lookup. The command line sets it for the program it runs, so children started with
``multiprocessing``'s spawn or forkserver methods, or by ``subprocess`` running Python, watch
the same directories (forked children need nothing: see ``fork.rs``).

Variables (the command line sets all of them; a user can set them for any program, e.g.
``HOTSWAP_WATCH=. gunicorn app:app``):

- ``HOTSWAP_WATCH``: the directories to watch, separated by ``os.pathsep``;
- ``HOTSWAP_MAIN``: the parent program's main script, which ``multiprocessing`` runs again in
  spawned children as ``__mp_main__`` without importing it, so its source is recorded here;
- ``HOTSWAP_SYNC``, ``HOTSWAP_DEBOUNCE``: as ``--sync`` and ``--debounce``;
- ``HOTSWAP_VERBOSITY``: -1 (errors only), 0 (warnings, the default here), 1 (every step);
- ``HOTSWAP_MESSAGE_FORMAT``, ``HOTSWAP_EVENTS``: as ``--message-format`` and ``--events``.
"""

from __future__ import annotations

import os
import sys

watcher = None


def _configure_logging(verbosity: int) -> None:
    from . import _log

    _log.to_stderr(verbosity, f"hotswap[{os.getpid()}]", quiet=_log.WARNING, only_once=True)


def _record(path: str, roots: list) -> None:
    """Records the source of a script that will run without being imported."""
    from . import _core

    path = os.path.abspath(path)
    if not path.endswith(".py") or not any(
        path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots
    ):
        return
    try:
        with open(path, "rb") as f:
            _core.record_source(path, f.read())
    except (OSError, ValueError):
        pass


def start() -> None:
    global watcher
    roots = [os.path.abspath(r) for r in os.environ["HOTSWAP_WATCH"].split(os.pathsep) if r]
    roots = [r for r in roots if os.path.exists(r)]
    if not roots:
        return
    try:
        verbosity = int(os.environ.get("HOTSWAP_VERBOSITY", "0"))
    except ValueError:
        verbosity = 0
    _configure_logging(verbosity)
    import hotswap

    debounce = os.environ.get("HOTSWAP_DEBOUNCE")
    hotswap.install(roots)
    for script in (os.environ.get("HOTSWAP_MAIN"), (getattr(sys, "argv", None) or [""])[0]):
        if script:
            _record(script, roots)
    watcher = hotswap.watch(
        *roots,
        debounce_ms=float(debounce) if debounce else None,
        sync=os.environ.get("HOTSWAP_SYNC", "immediate"),
        on_event=_event_stream(),
    )


def _event_stream():
    """``emit`` of the stream ``HOTSWAP_EVENTS`` names, or None (one line says why)."""
    target = os.environ.get("HOTSWAP_EVENTS")
    if not target:
        return None
    from ._events import EventStream

    try:
        return EventStream(target).emit
    except OSError as exc:
        sys.stderr.write(f"hotswap: HOTSWAP_EVENTS: cannot open {target!r}: {exc.strerror}\n")
        return None


def stop() -> None:
    """Stops the watcher started here (the command line starts its own)."""
    global watcher
    if watcher is not None:
        watcher.stop()
        watcher = None


try:
    start()
except Exception as exc:  # never keep the program from starting
    sys.stderr.write(f"hotswap: HOTSWAP_WATCH is set but watching could not start: {exc}\n")
