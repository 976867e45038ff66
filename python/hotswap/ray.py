"""Edits reach every Ray worker: ``hotswap.ray.enable()`` (or ``ray.init(runtime_env=
hotswap.ray.runtime_env())`` then ``hotswap.ray.enable()``).

The driver watches its sources; each batch that changed something or failed there is published
to a named actor of the job (``hotswap-sources``, no resources) that keeps the newest text of
every file sent. Every worker process of the job starts a receiver from Ray's
``worker_process_setup_hook``: it first applies everything sent so far (before the worker runs
user code), then long-polls the actor on a thread of its own, applies each batch with its own
engine and answers with its report, which the driver logs ("4/4 workers updated in 35 ms").
The newest sources are also kept in Ray's key-value store, for workers that start later.

Needs Ray (``pip install hotswap[ray]``). See the README, "Clusters: Ray and Dask".
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time

from . import _cluster, _log
from ._cluster import ClusterReport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Optional

__all__ = ["ClusterReport", "RayLink", "SourceHub", "enable", "runtime_env"]

HUB_NAME = "hotswap-sources"
SETUP_HOOK = "hotswap.ray._worker_setup"
ENV_ROOTS = "HOTSWAP_RAY_ROOTS"  # the driver's roots, for the workers' import hooks
ENV_PATH = "HOTSWAP_RAY_PATH"  # the driver's sys.path entries under its roots
ENV_MAIN = "HOTSWAP_RAY_MAIN"  # the driver's script: never imported by workers
ENV_ROLE = "HOTSWAP_RAY_ROLE"  # "hub" in the hub's own process: it runs no receiver
POLL_SECONDS = 2.0  # a receiver's long poll; a worker that polled this long ago counts as gone
ANSWER_SECONDS = 10.0
KEPT_BATCHES = 20  # how long the driver waits for the workers' answers to a batch


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError("hotswap.ray needs Ray: pip install 'hotswap[ray]'") from None
    return ray


class SourceHub:
    """The job's named actor: the newest text of every file sent, batches for receivers that
    long-poll, and their answers for the driver. Async, so polls wait without a thread each."""

    def __init__(self) -> None:
        self.generation = 0
        self.newest: Dict[str, str] = {}
        self.batches: Dict[int, Dict[str, str]] = {}  # the last KEPT_BATCHES generations
        self.polling: Dict[str, int] = {}  # worker -> polls in progress
        self.last_seen: Dict[str, float] = {}
        self.answers: Dict[int, Dict[str, dict]] = {}
        self._condition = None

    def _cond(self):
        import asyncio

        if self._condition is None:
            self._condition = asyncio.Condition()
        return self._condition

    async def publish(self, generation: int, sources: Dict[str, str], newest: Dict[str, str]):
        """Store a batch and the newest text of every file; return how many receivers are
        expected to answer it."""
        async with self._cond():
            self.generation = generation
            self.batches[generation] = sources
            self.batches.pop(generation - KEPT_BATCHES, None)
            self.newest = newest
            self._cond().notify_all()
        return len(self._alive())

    def _alive(self) -> List[str]:
        now = time.monotonic()
        alive = {w for w, seen in self.last_seen.items() if now - seen < POLL_SECONDS + 1.0}
        return sorted(alive | {w for w, n in self.polling.items() if n})

    async def receivers(self) -> List[str]:
        """The workers polling now or lately: those a batch expects an answer from."""
        return self._alive()

    async def snapshot(self) -> tuple:
        """Every source sent so far, for a worker that starts now."""
        return self.generation, dict(self.newest)

    async def next_batch(self, worker: str, after: int, timeout: float) -> Optional[tuple]:
        """Wait up to ``timeout`` s for a generation after ``after``; return it with the newest
        text of every file sent since (``None`` on time-out)."""
        import asyncio

        self.last_seen[worker] = time.monotonic()
        self.polling[worker] = self.polling.get(worker, 0) + 1
        try:
            async with self._cond():
                try:
                    await asyncio.wait_for(
                        self._cond().wait_for(lambda: self.generation > after), timeout
                    )
                except asyncio.TimeoutError:
                    return None
                missed = range(after + 1, self.generation + 1)
                if after > 0 and all(g in self.batches for g in missed):
                    sources: Dict[str, str] = {}
                    for g in missed:
                        sources.update(self.batches[g])
                    return self.generation, sources
                return self.generation, dict(self.newest)  # too far behind: catch up
        finally:
            self.polling[worker] -= 1
            self.last_seen[worker] = time.monotonic()

    async def answer(self, report: dict) -> None:
        self.last_seen[report["worker"]] = time.monotonic()
        async with self._cond():
            self.answers.setdefault(report["generation"], {})[report["worker"]] = report
            self._cond().notify_all()

    async def collect(self, generation: int, expected: int, timeout: float) -> List[dict]:
        """The answers to ``generation``, once ``expected`` arrived or ``timeout`` s passed."""
        import asyncio

        async with self._cond():
            try:
                await asyncio.wait_for(
                    self._cond().wait_for(
                        lambda: len(self.answers.get(generation, {})) >= expected
                    ),
                    timeout,
                )
            except asyncio.TimeoutError:
                pass
            return list(self.answers.pop(generation, {}).values())


# ---------------------------------------------------------------- worker side


def _worker_setup() -> None:
    """Ray's ``worker_process_setup_hook``: catch up, then receive batches on a thread."""
    roots = [r for r in os.environ.get(ENV_ROOTS, "").split(os.pathsep) if r]
    if not roots or os.environ.get(ENV_ROLE) == "hub":
        return
    ray = _import_ray()
    _cluster.start_worker(roots)
    _run_watched_code_from_modules(ray, roots)
    # Calling an actor from the hook crashes Ray 2.60's worker (its runtime_env is not set up
    # yet), but the GCS's key-value store answers: the driver keeps the newest sources there.
    try:
        stored = _kv_get(_kv_key(ray))
        if stored:
            _cluster.apply_generation(*pickle.loads(stored))
    except Exception as err:  # the worker runs on; its receiver catches up at its first poll
        _log.error("this worker could not catch up with the driver's edits: %s", err)
    thread = threading.Thread(target=_receive, name="hotswap-ray", daemon=True)
    thread.start()


def _under(path: str, roots: List[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _run_watched_code_from_modules(ray, roots: List[str]) -> None:
    """Make the worker run remote functions and actor classes defined under ``roots`` from its
    own import of their module (Ray's ``load_code_from_local``, as with a ``code_search_path``)
    instead of a pickled copy that no module holds: the engine updates the module's objects."""
    import importlib.util

    for entry in os.environ.get(ENV_PATH, "").split(os.pathsep):
        if entry and entry not in sys.path:
            sys.path.append(entry)
    worker = ray._private.worker.global_worker
    manager = worker.function_actor_manager
    load_from_module = manager.load_function_or_class_from_local
    script = os.environ.get(ENV_MAIN)

    def watched(module_name: str) -> bool:
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            return False
        origin = os.path.abspath(spec.origin) if spec is not None and spec.origin else ""
        return _under(origin, roots) and origin != script

    def load_if_watched(module_name: str, name: str):
        if not watched(module_name):
            return None  # Ray loads its pickled copy, as without hotswap
        return load_from_module(module_name, name)

    manager.load_function_or_class_from_local = load_if_watched
    _adopt_pickled_classes(ray, watched)
    # Ray sets the flag from the job's code_search_path before each task; with it on, Ray
    # asks load_if_watched first and loads its pickled copy when that finds nothing.
    set_flag = type(worker).set_load_code_from_local
    worker.set_load_code_from_local = lambda _flag: set_flag(worker, True)
    set_flag(worker, True)
    _see_through_actor_classes(ray)


def _module_class(module_name: str, name: str, watched) -> Optional[type]:
    """The class ``name`` of a watched module behind the wrapper its name is bound to. A class
    bound directly is not it: that one is pickled by reference, so one arriving by value with
    its name is another class (defined in a function)."""
    import importlib

    if not watched(module_name):
        return None
    found = getattr(importlib.import_module(module_name), name, None)
    _see_through_serve_deployments()  # the module may have imported Serve
    for depth in range(4):
        if isinstance(found, type):
            same = found.__name__ == name and found.__module__ == module_name
            return found if same and depth > 0 else None
        found = getattr(found, "__wrapped__", None)
    return None


def _adopt_pickled_classes(ray, watched) -> None:
    """A class of a watched module that reaches this worker pickled by value (a decorator
    bound its name to a wrapper: a Ray Serve deployment, for one) is the module's own class
    here, as if it had been pickled by reference, so the engine's edits reach its instances.
    """
    pickler = ray.cloudpickle.cloudpickle
    make_class, set_state = pickler._make_skeleton_class, pickler._class_setstate
    adopted: set = set()

    def make_skeleton_class(type_constructor, name, bases, type_kwargs, tracker_id, extra):
        module_name = type_kwargs.get("__module__")
        try:
            own = _module_class(module_name, name, watched) if module_name else None
        except Exception:  # the module does not import here: keep Ray's copy
            own = None
        if own is None:
            return make_class(type_constructor, name, bases, type_kwargs, tracker_id, extra)
        adopted.add(own)
        return own

    def class_setstate(obj, state):
        return obj if obj in adopted else set_state(obj, state)

    pickler._make_skeleton_class = make_skeleton_class
    pickler._class_setstate = class_setstate


def _see_through_serve_deployments() -> None:
    """A Serve ``Deployment`` keeps its class in ``func_or_class``; its ``__wrapped__``."""
    deployment = sys.modules.get("ray.serve.deployment")
    cls = getattr(deployment, "Deployment", None)
    if cls is not None and "__wrapped__" not in vars(cls):
        cls.__wrapped__ = property(lambda self: self.func_or_class)


class _AfterImport:
    """Meta-path finder that runs ``then()`` right after module ``name`` is first imported
    (importing Ray Serve only to patch it would cost every driver about a second)."""

    def __init__(self, name: str, then) -> None:
        self.name = name
        self.then = then

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            exec_module, then = spec.loader.exec_module, self.then

            def exec_then(module) -> None:
                exec_module(module)
                then()

            spec.loader.exec_module = exec_then
        return spec


def _after_import(name: str, then) -> None:
    if name in sys.modules:
        then()
    elif not any(isinstance(f, _AfterImport) and f.name == name for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(name, then))


def _see_through_actor_classes(ray) -> None:
    """``@ray.remote`` binds a class's name to an ``ActorClass``; its ``__wrapped__`` (which
    the engine follows, as for any class decorator's wrapper) is the user's class, whose
    methods the actors run."""
    actor_class = ray.actor.ActorClass
    if "__wrapped__" not in vars(actor_class):
        actor_class.__wrapped__ = property(
            lambda self: self.__ray_metadata__.modified_class.__ray_actor_class__
        )


def _kv_key(ray) -> bytes:
    return f"hotswap-sources-{ray.get_runtime_context().get_job_id()}".encode()


def _kv_get(key: bytes) -> Optional[bytes]:
    from ray.experimental.internal_kv import _internal_kv_get

    return _internal_kv_get(key)


def _kv_put(key: bytes, value: bytes) -> None:
    from ray.experimental.internal_kv import _internal_kv_put

    _internal_kv_put(key, value, overwrite=True)


def _receive() -> None:
    """Long-poll the hub for batches, apply each, answer; forever (a daemon thread)."""
    ray = _import_ray()
    hub = None
    worker = _cluster.worker_id()
    while True:
        try:
            if hub is None:
                hub = ray.get_actor(HUB_NAME)
            after = _cluster.worker_generation()
            batch = ray.get(hub.next_batch.remote(worker, after, POLL_SECONDS))
        except Exception:  # the hub does not exist yet, or died with its job
            hub = None
            time.sleep(0.5)
            continue
        if batch is None:
            continue
        report = _cluster.apply_generation(*batch)
        report["worker"] = worker
        hub.answer.remote(report)


# ---------------------------------------------------------------- driver side


def runtime_env(*roots, base: Optional[dict] = None) -> dict:
    """The ``runtime_env`` for ``ray.init`` that starts a receiver in every worker process;
    ``roots`` are the directories the driver watches (default: the current directory), and
    ``base`` another runtime_env to extend."""
    absolute = _cluster.absolute_roots(roots)
    env = dict(base or {})
    if env.get("worker_process_setup_hook") not in (None, SETUP_HOOK):
        raise ValueError("the runtime_env has a worker_process_setup_hook of its own already")
    env["worker_process_setup_hook"] = SETUP_HOOK
    env_vars = dict(env.get("env_vars") or {})
    env_vars[ENV_ROOTS] = os.pathsep.join(absolute)
    env_vars[ENV_PATH] = os.pathsep.join(_import_paths(absolute))
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    if script:
        env_vars[ENV_MAIN] = os.path.abspath(script)
    env["env_vars"] = env_vars
    return env


def _import_paths(roots: List[str]) -> List[str]:
    """The driver's ``sys.path`` entries in or under ``roots``: where workers import from."""
    entries = [os.path.abspath(e or os.getcwd()) for e in sys.path]
    return [e for e in dict.fromkeys(entries) if _under(e, roots)]


def _job_roots(ray) -> List[str]:
    env = ray.get_runtime_context().runtime_env or {}
    roots = (env.get("env_vars") or {}).get(ENV_ROOTS, "")
    if not roots:
        raise RuntimeError(
            "Ray was started without hotswap's worker hook: call hotswap.ray.enable() before "
            "ray.init(), or pass ray.init(runtime_env=hotswap.ray.runtime_env(...))"
        )
    return roots.split(os.pathsep)


class RayLink:
    """The running link between a driver's watcher and its Ray workers (see :func:`enable`)."""

    def __init__(self, ray, roots: List[str]) -> None:
        hub_class = ray.remote(SourceHub)
        self.hub = hub_class.options(
            name=HUB_NAME,
            get_if_exists=True,
            num_cpus=0,
            runtime_env={"env_vars": {ENV_ROLE: "hub"}},
        ).remote()
        self._ray = ray
        ray.get(self.hub.snapshot.remote())  # started before the first batch
        self.publisher = _cluster.Publisher(roots, self._send)

    def _send(self, generation: int, sources: Dict[str, str]) -> ClusterReport:
        started = time.perf_counter()
        newest = (generation, self.publisher.newest)
        _kv_put(_kv_key(self._ray), pickle.dumps(newest))
        expected = self._ray.get(
            self.hub.publish.remote(generation, sources, self.publisher.newest)
        )
        answers = self._ray.get(self.hub.collect.remote(generation, expected, ANSWER_SECONDS))
        ms = (time.perf_counter() - started) * 1000.0
        answers.sort(key=lambda a: a["worker"])
        return ClusterReport(generation, max(expected, len(answers)), answers, ms)

    def wait_for_batch(self, timeout=None) -> ClusterReport:
        """The report of the next batch the workers answered, waiting up to ``timeout`` s."""
        return self.publisher.wait_for_batch(timeout)

    def receivers(self) -> List[str]:
        """The ids of the workers whose receivers polled lately: the ones the next batch waits
        for. A worker that has not polled yet (it started a moment ago) catches up when it
        does, and is not counted in that batch's report."""
        return self._ray.get(self.hub.receivers.remote())

    def stop(self) -> None:
        """Stop watching (the workers keep the code they run)."""
        self.publisher.stop()

    def __enter__(self) -> "RayLink":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def enable(*roots, log: bool = True, **init_options) -> RayLink:
    """Watch ``roots`` (default: the current directory) and send every edit to every worker of
    the job. Starts Ray (``ray.init(**init_options)`` with hotswap's runtime_env) unless the
    driver started it already with :func:`runtime_env`. ``log`` prints one line per batch and
    each worker's errors to stderr."""
    ray = _import_ray()
    if log:
        _cluster.log_to_stderr()
    _see_through_actor_classes(ray)
    _after_import("ray.serve.deployment", _see_through_serve_deployments)
    if ray.is_initialized():
        if init_options:
            raise ValueError("Ray is running already: ray.init() options cannot be applied")
        job_roots = _job_roots(ray)
        absolute = _cluster.absolute_roots(roots) if roots else job_roots
    else:
        absolute = _cluster.absolute_roots(roots)
        base = init_options.pop("runtime_env", None)
        ray.init(runtime_env=runtime_env(*absolute, base=base), **init_options)
    _log.debug("sending edits under %s to the Ray workers", ", ".join(absolute))
    return RayLink(ray, absolute)
