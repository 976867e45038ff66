"""Web dev servers under hotswap: an edited route handler answers the next request, in the same
process with the same in-memory state, with the frameworks' restart reloaders turned off."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

TIMEOUT = 30

STARLETTE_APP = """\
import os

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

HITS = []


async def home(request):
    HITS.append(1)
    return PlainTextResponse(f"v1 hits={len(HITS)} pid={os.getpid()}")


app = Starlette(routes=[Route("/", home)])
"""

FLASK_APP = """\
import os
import sys

from flask import Flask

app = Flask(__name__)
HITS = []


@app.route("/")
def home():
    HITS.append(1)
    return f"v1 hits={len(HITS)} pid={os.getpid()}"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), debug=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, proc: subprocess.Popen, expect_prefix: str) -> str:
    """GET ``url`` until its body starts with ``expect_prefix`` (the server may be starting)."""
    deadline = time.monotonic() + TIMEOUT
    body = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read().decode()
            if body.startswith(expect_prefix):
                return body
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} answered {body!r}, not {expect_prefix}...")


def serve_and_edit(tmp_path, app_file: str, source: str, argv: list, port: int) -> None:
    (tmp_path / app_file).write_text(source)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotswap", *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        first = get(url, proc, "v1 ")
        assert first == f"v1 hits=1 pid={proc.pid}"
        (tmp_path / app_file).write_text(source.replace('f"v1 hits', 'f"v2 hits'))
        second = get(url, proc, "v2 ")
        hits = int(second.split("hits=")[1].split()[0])
        assert hits >= 2  # the list of hits survived the edit
        assert second == f"v2 hits={hits} pid={proc.pid}"
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    return output


def test_uvicorn_starlette_with_its_reload_flag(tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    port = free_port()
    argv = ["-m", "uvicorn", "app:app", "--port", str(port), "--reload"]
    output = serve_and_edit(tmp_path, "app.py", STARLETTE_APP, argv, port)
    assert "uvicorn's restarting reloader is off" in output
    assert "updated app.home" in output


def test_flask_run_debug(tmp_path):
    pytest.importorskip("flask")
    port = free_port()
    argv = ["-m", "flask", "--app", "app", "run", "--debug", "--port", str(port)]
    output = serve_and_edit(tmp_path, "app.py", FLASK_APP, argv, port)
    assert "werkzeug's restarting reloader is off" in output
    assert "updated app.home" in output


def test_flask_app_run_script(tmp_path):
    pytest.importorskip("flask")
    port = free_port()
    output = serve_and_edit(tmp_path, "server.py", FLASK_APP, ["server.py", str(port)], port)
    assert "werkzeug's restarting reloader is off" in output
