"""Edits reach every Dask worker: ``hotswap.dask.enable(client)``.

The driver (the process holding the ``Client``) watches its sources; each batch that changed
something or failed there is sent to every worker with ``client.run``, which returns each
worker's report. A ``WorkerPlugin`` starts recording sources on each worker (the ones running
now and any that join later), and a worker that joins later first applies every source sent so
far, which the driver keeps in the scheduler's metadata (``client.set_metadata``).

Needs ``distributed`` (``pip install hotswap[dask]``). See the README, "Clusters: Ray and Dask".
"""

from __future__ import annotations

import time

from . import _cluster
from ._cluster import ClusterReport

try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # enable() says what to install
    _WorkerPlugin = object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List

__all__ = ["ClusterReport", "HotswapWorkerPlugin", "enable"]

PLUGIN_NAME = "hotswap"
METADATA_KEY = ["hotswap", "sources"]


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "hotswap.dask needs Dask's distributed scheduler: pip install 'hotswap[dask]'"
        ) from None
    return distributed


def _worker_apply(generation: int, sources: Dict[str, str], dask_worker=None) -> dict:
    """Runs on each worker (``client.run``): apply one generation, answer with its report."""
    report = _cluster.apply_generation(generation, sources)
    if dask_worker is not None:
        report["worker"] = dask_worker.address
    return report


class HotswapWorkerPlugin(_WorkerPlugin):
    """Starts recording sources on a worker and catches it up with the newest sources."""

    name = PLUGIN_NAME
    idempotent = False

    def __init__(self, roots: List[str]) -> None:
        self.roots = roots

    async def setup(self, worker) -> None:
        _cluster.start_worker(self.roots)
        newest = await worker.scheduler.get_metadata(keys=METADATA_KEY, default=None)
        if newest:
            _cluster.apply_generation(newest["generation"], newest["sources"])


class _DaskSender:
    """Sends one generation: the newest sources to the scheduler's metadata (for workers that
    join later), the batch to every worker now (``client.run``, which returns their reports)."""

    def __init__(self, client) -> None:
        self.client = client

    def __call__(self, generation: int, sources: Dict[str, str], newest: Dict[str, str]):
        started = time.perf_counter()
        self.client.set_metadata(METADATA_KEY, {"generation": generation, "sources": newest})
        expected = len(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        try:
            answers = self.client.run(_worker_apply, generation, sources, on_error="return")
        except TypeError:  # distributed before on_error=
            answers = self.client.run(_worker_apply, generation, sources)
        workers = []
        for address, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                answer = {
                    "worker": address,
                    "generation": 0,
                    "updated": [],
                    "ms": 0.0,
                    "errors": [["<worker>", 0, f"{type(answer).__name__}: {answer}"]],
                }
            workers.append(answer)
        ms = (time.perf_counter() - started) * 1000.0
        return ClusterReport(generation, max(expected, len(workers)), workers, ms)


class DaskLink:
    """The running link between a driver's watcher and its Dask workers (see :func:`enable`)."""

    def __init__(self, client, roots: List[str]) -> None:
        sender = _DaskSender(client)
        self.client = client
        self.publisher = _cluster.Publisher(
            roots, lambda gen, sources: sender(gen, sources, self.publisher.newest)
        )

    def wait_for_batch(self, timeout=None) -> ClusterReport:
        """The report of the next batch the workers answered, waiting up to ``timeout`` s."""
        return self.publisher.wait_for_batch(timeout)

    def stop(self) -> None:
        """Stop watching (the workers keep the code they run)."""
        self.publisher.stop()

    def __enter__(self) -> "DaskLink":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def enable(client, *roots, log: bool = True) -> DaskLink:
    """Watch ``roots`` (default: the current directory) and send every edit to every worker
    of ``client``'s cluster, including workers that join later. ``log`` prints one line per
    batch ("hotswap: 4/4 workers updated in 35 ms") and each worker's errors to stderr."""
    distributed = _import_distributed()
    if not isinstance(client, distributed.Client):
        raise TypeError(f"hotswap.dask.enable needs a distributed.Client, got {client!r}")
    absolute = _cluster.absolute_roots(roots)
    if log:
        _cluster.log_to_stderr()
    plugin = HotswapWorkerPlugin(absolute)
    register = getattr(client, "register_plugin", None)
    if register is not None:
        register(plugin, name=PLUGIN_NAME)
    else:
        client.register_worker_plugin(plugin, name=PLUGIN_NAME)
    return DaskLink(client, absolute)
