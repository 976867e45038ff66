"""hotswap.ray: edits saved on the driver reach every worker process of a real local Ray
cluster: actors keep their state and run the new methods, tasks run the new code, errors are
reported per worker, and workers started later run the newest code."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import Program, Project

pytest.importorskip("ray", reason="the ray extra is not installed")

TIMEOUT = 90

COUNTER_V1 = """\
import os

import ray


@ray.remote
class Counter:
    def __init__(self):
        self.count = 0

    def bump(self):
        self.count += 1
        return ["v1", self.count]

    def pid(self):
        return os.getpid()


@ray.remote
def task(x):
    return ["v1", x]
"""

START = """
import os
import ray
import hotswap._core
import hotswap.ray

# The two-step form (the benchmark uses the one-step hotswap.ray.enable(root, **init_options)).
ray.init(runtime_env=hotswap.ray.runtime_env(os.getcwd()), num_cpus=2,
         include_dashboard=False, log_to_driver=False)
link = hotswap.ray.enable()
import counters

actors = [counters.Counter.remote() for _ in range(2)]
for a in actors:
    ray.get(a.bump.remote())
actor_pids = sorted(ray.get([a.pid.remote() for a in actors]))
# Both actors' receivers poll before the first save: a batch expects answers from those that do.
import time
deadline = time.monotonic() + 60
while not set(actor_pids) <= {int(w.rsplit(":", 1)[1]) for w in link.receivers()}:
    assert time.monotonic() < deadline, link.receivers()
    time.sleep(0.05)

def bumps():
    return ray.get([a.bump.remote() for a in actors], timeout=60)

def batch(timeout=60):
    r = link.wait_for_batch(timeout)
    return {"generation": r.generation, "expected": r.expected, "updated": r.updated,
            "errors": r.errors, "pids": sorted(int(w["worker"].rsplit(":", 1)[1])
                                               for w in r.workers),
            "names": sorted({n for w in r.workers for n in w["updated"]})}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("proj"))
    project.write("counters.py", COUNTER_V1)
    # driver.py run from -c, as a program whose main script Ray does not import.
    code = "import runpy, sys; sys.argv = ['driver.py', 'api']; runpy.run_path('driver.py')"
    program = Program(project.root, [sys.executable, "-c", code])
    try:
        program.exec(START, timeout=TIMEOUT)
        yield project, program
    finally:
        try:
            program.exec("link.stop(); ray.shutdown()", timeout=TIMEOUT)
        finally:
            program.close()


def test_actors_keep_state_and_tasks_run_the_new_code(cluster):
    project, program = cluster
    assert program.eval("bumps()") == [["v1", 2], ["v1", 2]]
    project.write("counters.py", COUNTER_V1.replace('"v1"', '"v2"'), how="atomic")
    batch = program.call("eval", expr="batch()", timeout=TIMEOUT)["value"]
    assert batch["errors"] == [] and batch["updated"] == batch["expected"] >= 2, batch
    assert set(program.eval("actor_pids")) <= set(batch["pids"]), batch
    assert batch["names"] == ["counters.Counter.bump", "counters.task"]
    # The counters kept counting: same actors, same state, new method.
    assert program.eval("bumps()") == [["v2", 3], ["v2", 3]]
    assert program.eval("ray.get(counters.task.remote(7), timeout=60)") == ["v2", 7]
    assert f"hotswap: {batch['updated']}/{batch['expected']} workers updated in" in program.stderr


def test_syntax_error_is_reported_per_worker_and_changes_nothing(cluster):
    project, program = cluster
    broken = COUNTER_V1.replace('"v1"', '"v9"').replace("def bump(self):", "def bump(self)")
    project.write("counters.py", broken, how="atomic")
    batch = program.call("eval", expr="batch()", timeout=TIMEOUT)["value"]
    assert batch["updated"] == 0 and batch["expected"] >= 2, batch
    assert len(batch["errors"]) == len(batch["pids"]), batch
    for _worker, path, line, _message in batch["errors"]:
        assert path.endswith("counters.py") and line == 11, batch
    assert program.eval("bumps()") == [["v2", 4], ["v2", 4]]
    assert "counters.py:11:" in program.stderr
    # Saved back as the workers run it: nothing to send (and no batch to wait for).
    project.write("counters.py", COUNTER_V1.replace('"v1"', '"v2"'), how="atomic")


SERVED_V1 = """\
import os
import time

from ray import serve


@serve.deployment(num_replicas=1)
class Model:
    def __init__(self):
        self.loaded_at = time.time()  # what a replica keeps: a model that took long to load
        self.calls = 0

    async def __call__(self, request):
        self.calls += 1
        return {"answer": "v1", "pid": os.getpid(), "loaded_at": self.loaded_at,
                "calls": self.calls}


app = Model.bind()
"""

SERVE = """
import json, socket, urllib.request
from ray import serve
import served

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
serve.start(http_options={"host": "127.0.0.1", "port": port})
serve.run(served.app)

def ask():
    url = f"http://127.0.0.1:{port}/"
    return json.loads(urllib.request.urlopen(url, timeout=60).read())
"""


def test_serve_replica_runs_the_new_code_with_its_state(cluster):
    pytest.importorskip("ray.serve", reason="Ray Serve (ray[serve]) is not installed")
    project, program = cluster
    project.write("served.py", SERVED_V1)
    program.exec(SERVE, timeout=TIMEOUT)
    before = program.eval("ask()")
    assert before["answer"] == "v1" and before["calls"] == 1
    project.write("served.py", SERVED_V1.replace('"v1"', '"v2"'), how="atomic")
    batch = program.call("eval", expr="batch()", timeout=TIMEOUT)["value"]
    assert batch["errors"] == [] and batch["updated"] == batch["expected"], batch
    assert before["pid"] in batch["pids"], batch
    after = program.eval("ask()")
    # The same replica, with the model it loaded, answers with the new code.
    assert after == dict(before, answer="v2", calls=2)
    program.exec("serve.shutdown()", timeout=TIMEOUT)


def test_late_actor_runs_the_newest_code_even_when_its_disk_is_older(cluster):
    project, program = cluster
    # Sent without saving: the disk keeps v2, as on a node the driver's edits do not reach.
    # The watcher stops first: a save still on its way would send the disk's text after it.
    program.exec(
        """
        link.stop()
        path = os.path.abspath("counters.py")
        sent = open(path).read().replace('"v2"', '"v3"')
        hotswap._core.reload_source(path, sent)  # the driver runs it: later workers get it
        sent_report = link.publisher.publish({path: sent})
        """,
        timeout=TIMEOUT,
    )
    assert program.eval("sent_report.errors") == []
    assert program.eval("bumps()") == [["v3", 5], ["v3", 5]]
    program.exec(
        """
        late = counters.Counter.options(num_cpus=0).remote()
        late_answer = ray.get(late.bump.remote(), timeout=60)
        """,
        timeout=TIMEOUT,
    )
    assert program.eval("late_answer") == ["v3", 1]


def test_bad_inputs_get_one_clear_message(tmp_path):
    import hotswap.ray

    with pytest.raises(ValueError, match="does not exist"):
        hotswap.ray.runtime_env(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="worker_process_setup_hook of its own"):
        hotswap.ray.runtime_env(str(tmp_path), base={"worker_process_setup_hook": "app.setup"})
    env = hotswap.ray.runtime_env(str(tmp_path), base={"env_vars": {"A": "1"}, "pip": ["x"]})
    assert env["worker_process_setup_hook"] == "hotswap.ray._worker_setup"
    assert env["env_vars"]["A"] == "1" and env["pip"] == ["x"]
    assert env["env_vars"]["HOTSWAP_RAY_ROOTS"] == str(tmp_path)


def test_enable_after_a_plain_ray_init_says_what_to_do(tmp_path):
    code = (
        "import ray, hotswap.ray\n"
        "ray.init(num_cpus=1, include_dashboard=False)\n"
        "try:\n"
        "    hotswap.ray.enable()\n"
        "except RuntimeError as err:\n"
        "    print('refused:', err)\n"
        "ray.shutdown()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert "refused: Ray was started without hotswap's worker hook" in out.stdout, out.stderr
