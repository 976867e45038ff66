"""hotswap.dask: edits saved on the driver reach every worker of a real Dask LocalCluster
(worker processes), with the workers' data intact; late workers catch up."""

from __future__ import annotations

import sys

import pytest
from conftest import Program

pytest.importorskip("distributed", reason="the dask extra (distributed) is not installed")

TIMEOUT = 60

STORE_V1 = """\
STORE = {}


def remember(key, value):
    STORE[key] = value
    return len(STORE)


def describe(key):
    return ("v1", STORE.get(key))
"""

START = """
import os
from distributed import Client, LocalCluster

import hotswap.dask
import store

cluster = LocalCluster(
    n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
    worker_dashboard_address=None,
)
client = Client(cluster)
link = hotswap.dask.enable(client, os.getcwd())
workers = sorted(client.scheduler_info()["workers"])
for w in workers:
    client.submit(store.remember, "k", w, workers=[w], pure=False).result()

def on_each(fn, *args, among=None):
    return [
        client.submit(fn, *args, workers=[w], pure=False).result(timeout=30)
        for w in (among or workers)
    ]

def batch(timeout=30):
    r = link.wait_for_batch(timeout)
    return {"generation": r.generation, "expected": r.expected, "updated": r.updated,
            "errors": r.errors, "names": sorted({n for w in r.workers for n in w["updated"]})}
"""

STOP = """
link.stop()
client.close()
cluster.close()
"""


def start_driver(project) -> Program:
    """driver.py run from ``-c``: worker processes that multiprocessing spawns would run a
    main script again (and answer the test on its stdout)."""
    code = "import runpy, sys; sys.argv = ['driver.py', 'api']; runpy.run_path('driver.py')"
    program = Program(project.root, [sys.executable, "-c", code])
    project.programs.append(program)
    return program


@pytest.fixture
def cluster_program(project):
    project.write("store.py", STORE_V1)
    program = start_driver(project)
    program.exec(START, timeout=TIMEOUT)
    yield program
    program.exec(STOP, timeout=TIMEOUT)


def test_edit_reaches_every_worker_with_its_data(project, cluster_program):
    program = cluster_program
    workers = program.eval("workers")
    assert program.eval("[list(x) for x in on_each(store.describe, 'k')]") == [
        ["v1", w] for w in workers
    ]
    project.write("store.py", STORE_V1.replace('"v1"', '"v2"'), how="atomic")
    batch = program.call("eval", expr="batch()", timeout=TIMEOUT)["value"]
    assert batch["generation"] == 1
    assert (batch["updated"], batch["expected"], batch["errors"]) == (2, 2, [])
    assert batch["names"] == ["store.describe"]
    # Each worker runs the new code on the data it held before the edit.
    assert program.eval("[list(x) for x in on_each(store.describe, 'k')]") == [
        ["v2", w] for w in workers
    ]
    assert "hotswap: 2/2 workers updated in" in program.stderr


def test_syntax_error_is_reported_per_worker_and_changes_nothing(project, cluster_program):
    program = cluster_program
    broken = STORE_V1.replace('"v1"', '"v2"').replace("def describe(key):", "def describe(key)")
    project.write("store.py", broken, how="atomic")
    batch = program.call("eval", expr="batch()", timeout=TIMEOUT)["value"]
    assert batch["updated"] == 0 and batch["expected"] == 2
    workers = program.eval("workers")
    assert sorted(e[0] for e in batch["errors"]) == workers
    for _worker, path, line, message in batch["errors"]:
        assert path.endswith("store.py") and line == 9, (path, line, message)
    assert program.eval("[list(x) for x in on_each(store.describe, 'k')]") == [
        ["v1", w] for w in workers
    ]
    stderr = program.stderr
    assert "hotswap: 0/2 workers updated in" in stderr
    assert f"hotswap: worker {workers[0]}: store.py:9:" in stderr


def test_late_worker_runs_the_newest_code(project, cluster_program):
    program = cluster_program
    project.write("store.py", STORE_V1.replace('"v1"', '"v2"'), how="atomic")
    assert program.call("eval", expr="batch()", timeout=TIMEOUT)["value"]["updated"] == 2
    program.exec(
        """
        cluster.scale(3)
        client.wait_for_workers(3, timeout=60)
        late = [w for w in client.scheduler_info()["workers"] if w not in workers]
        """,
        timeout=TIMEOUT,
    )
    assert program.eval("[list(x) for x in on_each(store.describe, 'k', among=late)]") == [
        ["v2", None]
    ]
    # A later edit reaches all three.
    project.write("store.py", STORE_V1.replace('"v1"', '"v3"'), how="atomic")
    batch = program.call("eval", expr="batch()", timeout=TIMEOUT)["value"]
    assert (batch["updated"], batch["expected"], batch["errors"]) == (3, 3, [])
    assert program.eval("on_each(store.describe, 'k', among=late)")[0][0] == "v3"


def test_late_worker_catches_up_even_when_its_disk_is_older(project, cluster_program):
    program = cluster_program
    # Sent without saving: the disk keeps v1, as on a node the driver's edits do not reach.
    program.exec(
        """
        import hotswap._core
        link.stop()
        path = os.path.abspath("store.py")
        sent = open(path).read().replace('"v1"', '"v4"')
        hotswap._core.reload_source(path, sent)  # the driver runs it: later workers get it
        sent_report = link.publisher.publish({path: sent})
        cluster.scale(3)
        client.wait_for_workers(3, timeout=60)
        late = [w for w in client.scheduler_info()["workers"] if w not in workers]
        """,
        timeout=TIMEOUT,
    )
    assert program.eval("sent_report.errors") == []
    assert program.eval("[x[0] for x in on_each(store.describe, 'k')]") == ["v4", "v4"]
    assert program.eval("[list(x) for x in on_each(store.describe, 'k', among=late)]") == [
        ["v4", None]
    ]


def test_bad_inputs_get_one_clear_message():
    import hotswap.dask

    with pytest.raises(TypeError, match="needs a distributed.Client, got 'client'"):
        hotswap.dask.enable("client")
