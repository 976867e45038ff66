"""hotswap: edit the source of a running Python program and it runs the new code at once.

A changed function keeps its identity (every reference to it runs the new code), classes gain
their new methods in place, and only the module-level statements that changed are re-run, so
the program's state survives. The engine (file watching, parsing, diffing, patching) is written
in Rust; this package is its Python face.

Typical use::

    import hotswap
    hotswap.watch()          # the current directory, in a background thread

or from the command line: ``hotswap script.py [args]``.
"""

from __future__ import annotations

import os
import sys

from . import _core, _log
from ._core import Report, ReportError
from ._importhook import install_import_hook
from ._patch import Patch, PatchError, patch
from ._state import after_reload, before_reload, keep

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, Optional, Union

    from ._events import Announcer as _Announcer

    PathLike = Union[str, "os.PathLike[str]"]


__version__ = "0.1.0"
__all__ = [
    "Patch",
    "PatchError",
    "Report",
    "ReportError",
    "Watcher",
    "after_reload",
    "before_reload",
    "currently_reloading",
    "install",
    "keep",
    "live_loop",
    "patch",
    "poll",
    "reload_paths",
    "watch",
]


class Watcher:
    """A running watcher: applies every saved edit under its roots until stopped.

    Use it as a context manager to stop it on exit::

        with hotswap.watch("src") as watcher:
            report = watcher.wait_for_reload(timeout=10)
    """

    def __init__(self, core: _core.Watcher, announcer: Optional[_Announcer] = None) -> None:
        self._core = core
        self._announcer = announcer

    @property
    def roots(self) -> list:
        """The absolute directories being watched."""
        return self._core.roots

    @property
    def running(self) -> bool:
        """Whether the watcher has not been stopped."""
        return self._core.running

    def wait_for_reload(self, timeout: Optional[float] = None) -> Report:
        """Return the report of the next batch that changed something or failed.

        A batch that finished since the previous call and was not collected yet is returned at
        once. Raises ``TimeoutError`` if none finishes within ``timeout`` seconds.
        """
        return self._core.wait_for_reload(timeout)

    def stop(self) -> None:
        """Stop watching. Safe to call more than once."""
        self._core.stop()
        if self._announcer is not None:
            self._announcer.stop()

    def __enter__(self) -> "Watcher":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<hotswap.Watcher {state} roots={self.roots!r}>"


def _absolute_roots(paths: Iterable[PathLike]) -> list:
    roots = [os.path.abspath(os.fspath(p)) for p in paths]
    return roots or [os.getcwd()]


def install(root: Optional[Union[PathLike, Iterable[PathLike]]] = None) -> None:
    """Record the source text of modules under ``root`` as they are imported.

    The diff of the first edit then starts from the code that really runs, even if a file
    changes before :func:`watch` starts. ``root`` is a directory or several (default: the
    current directory). The command line calls this before running the program.
    """
    if root is None or isinstance(root, (str, os.PathLike)):
        roots = _absolute_roots([] if root is None else [root])
    else:
        roots = _absolute_roots(root)
    install_import_hook(roots)


def watch(
    *paths: PathLike,
    debounce_ms: Optional[float] = None,
    on_reload: Optional[Callable[[Report], object]] = None,
    sync: str = "immediate",
    on_event: Optional[Callable[[Dict[str, Any]], object]] = None,
    message_format: Optional[str] = None,
) -> Watcher:
    """Start applying edits to files under ``paths`` (default: the current directory).

    Watching runs in a background thread. ``debounce_ms`` is how long a burst of writes to one
    file must be quiet before it is read (default 2 ms). ``on_reload`` is called with the
    :class:`Report` of every batch that changed something or failed.

    ``on_event`` is called with each event of the stream ``hotswap --events`` writes (a dict,
    schema 1, see the README): ``started`` and ``watching`` now, ``batch`` for every batch,
    ``stopped`` at :meth:`Watcher.stop` or exit. ``message_format="compiler"`` logs errors and
    rude edits as ``path:line:col: error: message`` for editors, for the whole process
    (default: ``HOTSWAP_MESSAGE_FORMAT``, else ``"plain"``).

    ``sync`` chooses when an edit is applied:

    - ``"immediate"`` (default): as soon as it is read, from the watcher thread, all of a batch
      in one step while holding the GIL;
    - ``"main"``: on the main thread, between two bytecodes (for GUI toolkits and programs whose
      state belongs to the main thread); the main thread must be running Python code;
    - ``"manual"``: only when the program calls :func:`poll`, e.g. between two frames of a game
      loop.
    """
    if message_format is not None:
        _log.set_message_format(message_format)
    elif os.environ.get("HOTSWAP_MESSAGE_FORMAT"):
        _log.message_format_from_env()
    roots = _absolute_roots(paths)
    install_import_hook(roots)
    _core.record_loaded(roots)
    announcer = None
    if on_event is not None:
        from ._events import Announcer

        announcer = Announcer(on_event)
    on_batch = announcer.batch if announcer is not None else None
    core = _core.Watcher(roots, debounce_ms, on_reload, sync, on_batch)
    if announcer is not None:
        announcer.begin(core.roots)
    _log.debug("watching %s (live functions: %s)", ", ".join(core.roots), _core.enable_inventory())
    return Watcher(core, announcer)


def reload_paths(paths: Union[PathLike, Iterable[PathLike]]) -> Report:
    """Apply the current content of ``paths`` now, as the watcher would, and return the report.

    Modified, added and deleted files are all accepted.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return _core.reload_paths([os.fspath(p) for p in paths])


def poll() -> Report:
    """Apply the edits waiting for watchers started with ``sync="manual"``, now, on this thread.

    Returns the report of what was applied (falsy when nothing was waiting). Call it where the
    program is between two consistent states, e.g. once per frame of a game loop.
    """
    return _core.poll()


def live_loop(iterable: Optional[Iterable] = None) -> Iterable:
    """Iterate over ``iterable`` (forever when omitted) in a ``for`` loop whose body is live.

    An edit to the loop's body applies from its next iteration, with the loop's local variables
    intact. Only an edit of the loop itself gives it a new body; a new body that raises on its
    first item is reported once (see the README, "Live loops")::

        for request in hotswap.live_loop(requests()):
            handle(request)

    Use it as the iterable of a ``for`` statement, inside a function or the
    ``if __name__ == "__main__":`` block. A body that uses ``return``, ``yield``, ``await`` or
    ``nonlocal``, or a loop with an ``else`` clause, is reported and not applied; see the
    README ("Processes, loops and attaching").
    """
    import itertools

    from ._liveloop import LiveLoop

    frame = sys._getframe(1)
    return LiveLoop(itertools.count() if iterable is None else iterable, frame)


def currently_reloading() -> bool:
    """True while a reload is re-running module-level code.

    Guard state that must be created once::

        if not hotswap.currently_reloading():
            started = time.time()
    """
    return _core.currently_reloading()


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext hotswap``: modules imported in IPython/Jupyter become live (see ``ipython``)."""
    from .ipython import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    from .ipython import unload_ipython_extension as unload

    unload(ipython)


if sys.version_info < (3, 9):  # pragma: no cover
    raise ImportError("hotswap needs Python 3.9 or newer")
