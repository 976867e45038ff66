"""What the Ray and Dask integrations share: a driver that publishes each applied batch of
sources, and workers that apply them with their own engine.

The driver watches its roots with an ordinary watcher; every batch that changed something or
failed there becomes a *generation*: the new text of each file of the batch (read from disk, so
an edit the driver rejected still reaches the workers, which report it themselves). The engine
(``ray.py``, ``dask.py``) carries generations to the workers with its own channels and the
workers' answers back. Paths are sent as they are on the driver: a cluster whose nodes hold the
sources at other paths is not supported (see the README, "Clusters: Ray and Dask").
"""

from __future__ import annotations

import os
import socket
import threading
import time

from . import _core, _log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional


# ---------------------------------------------------------------- worker side

_worker_lock = threading.Lock()
_worker_generation = 0
_newest: Dict[str, str] = {}  # path -> newest text this worker received
_worker_roots: List[str] = []
_newest_names: set = set()  # module names the files in _newest may be imported as


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def start_worker(roots: List[str]) -> None:
    """Record the sources under ``roots`` this worker imports from now on, and the ones it has
    imported already (so the first batch is diffed against what runs)."""
    from ._importhook import install_import_hook

    roots = [r for r in roots if r not in _worker_roots]
    if not roots:
        return
    _worker_roots.extend(roots)
    install_import_hook(roots)
    _core.record_loaded(roots)
    _install_newest_finder()


def worker_generation() -> int:
    return _worker_generation


def apply_generation(generation: int, sources: Dict[str, str]) -> dict:
    """Apply ``sources`` (path -> text) unless this worker is at ``generation`` or later;
    return the worker's report as plain data (it travels through the cluster)."""
    global _worker_generation
    started = time.perf_counter()
    updated: List[str] = []
    errors: List[list] = []
    with _worker_lock:
        if generation > _worker_generation:
            for path in sorted(sources):
                text = sources[path]
                _newest[path] = text
                _newest_names.add(_module_name_of(path))
                report = _core.reload_source(path, text)
                updated.extend(report.updated + report.added + report.recreated)
                for problem in list(report.errors) + list(report.rude):
                    errors.append([problem.path, problem.line, problem.message])
            _worker_generation = generation
    return {
        "worker": worker_id(),
        "generation": _worker_generation,
        "updated": updated,
        "errors": errors,
        "ms": (time.perf_counter() - started) * 1000.0,
    }


def _module_name_of(path: str) -> str:
    """The last part of the name a file is imported as (``pkg/__init__.py``: ``pkg``)."""
    directory, name = os.path.split(path)
    stem = name[:-3] if name.endswith(".py") else name
    return os.path.basename(directory) if stem == "__init__" else stem


class _NewestSourceLoader:
    """Runs a module first imported after an edit with the newest text the driver sent, not
    the text on this node's disk (which may be older on another machine)."""

    def __init__(self, loader, path: str) -> None:
        self._loader = loader
        self._path = path

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def get_source(self, fullname: str) -> str:
        return _newest[self._path]

    def exec_module(self, module) -> None:
        text = _newest[self._path]
        _core.record_source(self._path, text.encode("utf-8"))
        code = compile(text, self._path, "exec", dont_inherit=True)
        exec(code, module.__dict__)

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


class _NewestSourceFinder:
    """Meta-path finder: a module whose file has a newer text from the driver loads that."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname.rpartition(".")[2] not in _newest_names:
            return None  # no file sent has this module's name: not one of ours
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin:
            return None
        origin = os.path.abspath(spec.origin)
        if origin not in _newest or spec.loader is None:
            return None
        try:
            with open(origin, encoding="utf-8") as f:
                if f.read() == _newest[origin]:
                    return None  # the disk has it already: the usual path records it
        except (OSError, ValueError):
            pass
        spec.loader = _NewestSourceLoader(spec.loader, origin)
        return spec


def _install_newest_finder() -> None:
    import sys

    if not any(f is _NewestSourceFinder for f in sys.meta_path):
        sys.meta_path.insert(0, _NewestSourceFinder)


# ---------------------------------------------------------------- driver side


def absolute_roots(roots) -> List[str]:
    """The driver's roots as absolute paths (default: the current directory); each must exist
    before anything is started on the cluster."""
    absolute = [os.path.abspath(os.fspath(r)) for r in roots] or [os.getcwd()]
    for root in absolute:
        if not os.path.isdir(root):
            raise ValueError(f"watch root {root} does not exist or is not a directory")
    return absolute


def read_sources(report: _core.Report) -> Dict[str, str]:
    """The text of each file of a batch as it is on disk now (absolute paths)."""
    sources = {}
    for shown in report.paths:
        path = os.path.abspath(shown)
        try:
            with open(path, "rb") as f:
                sources[path] = f.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as err:
            _log.warning("%s is not sent to the workers: %s", shown, err)
    return sources


class ClusterReport:
    """What one generation did on the workers: one plain report per worker that answered."""

    def __init__(self, generation: int, expected: int, workers: List[dict], ms: float) -> None:
        self.generation = generation
        self.expected = expected
        self.workers = workers
        self.ms = ms

    @property
    def errors(self) -> List[list]:
        """``[worker, file, line, message]`` for every error of every worker."""
        return [[w["worker"]] + list(e) for w in self.workers for e in w["errors"]]

    @property
    def updated(self) -> int:
        """How many workers answered without an error."""
        return sum(1 for w in self.workers if not w["errors"])

    def summary(self) -> str:
        return f"{self.updated}/{self.expected} workers updated in {self.ms:.0f} ms"

    def __repr__(self) -> str:
        return f"<ClusterReport generation={self.generation}: {self.summary()}>"


def log_to_stderr() -> None:
    """The driver's lines on stderr (``hotswap: ...``), unless the ``hotswap`` logger is set up."""
    _log.to_stderr(0, "hotswap", quiet=_log.INFO, only_once=True)


def log_cluster_report(report: ClusterReport) -> None:
    _log.info("%s", report.summary())
    for worker, path, line, message in report.errors:
        _log.error("worker %s: %s:%s: %s", worker, _core.display_path(path), line, message)


class Publisher:
    """Driver side: watch ``roots``, turn each batch into a generation, hand it to ``send``
    (which returns the workers' reports) and log the outcome."""

    def __init__(self, roots: List[str], send: Callable[[int, Dict[str, str]], ClusterReport]):
        from . import watch

        self.roots = roots
        self.generation = 0
        self.newest: Dict[str, str] = {}
        self._send = send
        self._reports: List[ClusterReport] = []
        self._arrived = threading.Condition()
        self._publishing = threading.Lock()
        self._watcher = watch(*roots, on_reload=self._on_reload)

    def _on_reload(self, report: _core.Report) -> None:
        sources = read_sources(report)
        if not sources:
            return
        try:
            self.publish(sources)
        except Exception as err:  # the cluster went away: the driver goes on
            _log.error("the edit of %s did not reach the workers: %s", ", ".join(report.paths), err)

    def publish(self, sources: Dict[str, str]) -> ClusterReport:
        """Send ``sources`` (absolute path -> text) to every worker as the next generation.

        Workers that start later get ``newest``: the text the driver runs for each file sent
        (a rejected edit is sent, so each worker reports it, but is not kept for later)."""
        with self._publishing:  # the watcher's thread, or a program's own call
            self.generation += 1
            for path, text in sources.items():
                running = _core.recorded_source(path)
                self.newest[path] = text if running is None else running
            result = self._send(self.generation, sources)
        log_cluster_report(result)
        with self._arrived:
            self._reports.append(result)
            self._arrived.notify_all()
        return result

    def wait_for_batch(self, timeout: Optional[float] = None) -> ClusterReport:
        """The cluster report of the next generation not collected yet."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._arrived:
            while not self._reports:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError("no batch reached the workers in time")
                self._arrived.wait(left)
            return self._reports.pop(0)

    def stop(self) -> None:
        self._watcher.stop()
