"""``%load_ext hotswap`` in a real Jupyter kernel (ipykernel), driven by a real client
(jupyter_client) over the Jupyter protocol, as a notebook front end drives it."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path
from typing import List, Tuple

import pytest

pytest.importorskip("ipykernel", reason="ipykernel is not installable for this Python")
jupyter_client = pytest.importorskip(
    "jupyter_client", reason="jupyter_client is not installable for this Python"
)

SHAPES = """\
class Square:
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side
"""

Message = Tuple[str, dict]  # (msg_type, content)


class Notebook:
    """One kernel and its client; runs cells and keeps every iopub message each produced."""

    def __init__(self, workdir: Path, home: Path) -> None:
        env = dict(os.environ)
        env.update(
            HOME=str(home),
            IPYTHONDIR=str(home / "ipython"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_DATA_DIR=str(home / "data"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.manager = jupyter_client.KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(workdir), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.transcript: List[str] = []
        self.last_cell = ""  # msg_id of the last execute request

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def run(self, code: str) -> List[Message]:
        """Every iopub message of the cell, from ``busy`` to ``idle``."""
        msg_id = self.last_cell = self.client.execute(code)
        seen: List[Message] = []
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, f"no idle for {code!r}: {seen}"
            msg = self.client.get_iopub_msg(timeout=30)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            seen.append((msg["msg_type"], msg["content"]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self.client.get_shell_msg(timeout=30)
        assert reply["content"]["status"] == "ok", (code, reply["content"], seen)
        self.transcript.append(f"In: {code!r}")
        self.transcript += ["   " + describe(m) for m in seen if m[0] not in NOISE]
        return seen

    def result(self, code: str) -> str:
        results = [c for t, c in self.run(code) if t == "execute_result"]
        assert len(results) == 1, (code, results)
        return results[0]["data"]["text/plain"]

    def between_cells(self, timeout: float) -> List[Message]:
        """iopub messages that arrive while no cell runs, up to ``timeout`` seconds or the
        first stream message; each must belong to the last cell (front ends show it there)."""
        seen: List[Message] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            seen.append((msg["msg_type"], msg["content"]))
            self.transcript.append("(between cells) " + describe(seen[-1]))
            assert msg["parent_header"].get("msg_id") == self.last_cell, msg
            if msg["msg_type"] == "stream":
                break
        return seen


NOISE = ("status", "execute_input")


def describe(message: Message) -> str:
    msg_type, content = message
    if msg_type == "stream":
        return f"stream/{content['name']}: {content['text']!r}"
    if msg_type == "execute_result":
        return f"execute_result: {content['data']['text/plain']}"
    if msg_type == "error":
        return f"error: {content['ename']}: {content['evalue']}"
    return msg_type


def streams(messages: List[Message], name: str) -> List[str]:
    return [c["text"] for t, c in messages if t == "stream" and c["name"] == name]


def run_until(notebook: Notebook, code: str, done, timeout: float = 20) -> List[Message]:
    """Run ``code`` as a new cell until ``done(messages of the cell)``; all messages seen."""
    everything: List[Message] = []
    deadline = time.monotonic() + timeout
    while True:
        messages = notebook.run(code)
        everything += messages
        if done(messages):
            return everything
        assert time.monotonic() < deadline, f"never done: {everything}"
        time.sleep(0.1)


@pytest.fixture
def notebook(tmp_path):
    workdir = tmp_path / "notebook"
    workdir.mkdir()
    started = Notebook(workdir, tmp_path)
    yield started
    print("\n".join(started.transcript))  # shown by pytest when the test fails
    started.close()


def test_edits_reach_a_running_kernel(notebook, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "shapes.py").write_text(SHAPES)
    workdir = (tmp_path / "notebook").resolve()

    loaded = notebook.run("%load_ext hotswap")
    assert streams(loaded, "stdout") == [
        f"hotswap: watching {workdir}: modules imported from there are live;"
        " saved edits apply when the next cell runs (%hotswap shows the last one)\n"
    ]
    cell = f"import sys; sys.path.insert(0, {str(lib)!r}); import shapes\nsq = shapes.Square(3)"
    imported = notebook.run(cell + "\ntotal = 41\nfirst_id = id(sq)")
    assert streams(imported, "stdout") == [f"hotswap: also watching {lib.resolve()}\n"]
    assert notebook.result("sq.area(), total") == "(9, 41)"

    # A new method body: the next cell sees it, on the same object, with the cell state kept.
    (lib / "shapes.py").write_text(SHAPES.replace("self.side * self.side", "self.side * 100"))
    applied = run_until(
        notebook, "sq.area(), total, id(sq) == first_id", lambda m: streams(m, "stdout")
    )
    assert streams(applied, "stdout") == ["hotswap: updated shapes.Square.area\n"]
    assert notebook.result("sq.area(), total, id(sq) == first_id") == "(300, 41, True)"

    # A syntax error: one stream message, on stderr; the previous code keeps running.
    (lib / "shapes.py").write_text(SHAPES.replace("return self.side * self.side", "return ("))
    failed = run_until(notebook, "sq.area()", lambda m: streams(m, "stderr"))
    problems = [m for m in failed if m[0] in ("stream", "error")]
    assert len(problems) == 1, failed
    (text,) = streams(failed, "stderr")
    assert text.startswith(f"hotswap: {lib.resolve() / 'shapes.py'}:6: syntax error"), text
    assert text.count("\n") == 1 and "its previous code keeps running" in text, text
    assert notebook.result("sq.area()") == "300"  # and later cells say nothing more
    assert [m for m in notebook.run("sq.area()") if m[0] == "stream"] == []

    shown = "".join(streams(notebook.run("%hotswap"), "stdout"))
    assert shown.startswith(f"hotswap: watching {workdir}, {lib.resolve()}\nlast edit:\n")
    assert "nothing applied\n" in shown and "shapes.py:6: syntax error (column" in shown, shown

    # The watcher thread's own messages arrive between cells, as the last cell's output.
    lib.rename(tmp_path / "lib-away")
    arrived = notebook.between_cells(timeout=20)
    text = "".join(streams(arrived, "stderr"))
    moved = f"watched directory {lib.resolve()} was removed or moved away"
    assert f"hotswap: {moved}" in text, arrived
    # A front end that shows nothing for a finished cell: %hotswap shows it again.
    shown = "".join(streams(notebook.run("%hotswap"), "stdout"))
    assert shown.split("\n")[1].endswith(moved + "; watching for it to come back"), shown
