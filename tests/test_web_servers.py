"""Web dev servers under hotswap: an edited route handler answers the next request, in the same
process with the same in-memory state, with the frameworks' restart reloaders turned off."""

import os
import socket
import subprocess
import sys
import threading
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


DJANGO_FILES = {
    "settings.py": (
        'SECRET_KEY = "test"\nDEBUG = True\nALLOWED_HOSTS = ["127.0.0.1"]\n'
        'ROOT_URLCONF = "urls"\nINSTALLED_APPS = []\nDATABASES = {}\nMIDDLEWARE = []\n'
    ),
    "urls.py": (
        "from django.urls import path\n\nimport views\n\nurlpatterns = [path('', views.home)]\n"
    ),
}
DJANGO_VIEWS = """\
import os

from django.http import HttpResponse

HITS = []


def home(request):
    HITS.append(1)
    return HttpResponse(f"v1 hits={len(HITS)} pid={os.getpid()}")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple:
    """(status, body, headers) of one GET; error statuses are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(), error.headers


def get(
    url: str, proc: subprocess.Popen, expect_prefix: str, status: int = 200, header: str = ""
) -> str:
    """GET ``url`` until it answers ``status`` with a body starting with ``expect_prefix`` (the
    server may be starting, an edit may not be applied yet); the body, or ``header``'s value."""
    deadline = time.monotonic() + TIMEOUT
    answer = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            answer = fetch(url)
            if answer[0] == status and answer[1].startswith(expect_prefix):
                return answer[2].get(header, "") if header else answer[1]
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} answered {answer!r}, not {status} {expect_prefix}...")


class Server:
    """``python -m hotswap ARGV`` in the background, its output collected line by line."""

    def __init__(self, cwd, argv: list) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotswap", *argv],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_output(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while text not in self.output:
            assert time.monotonic() < deadline, f"{text!r} not in the output:\n{self.output}"
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)


def serve_and_edit(tmp_path, app_file: str, source: str, argv: list, port: int) -> Server:
    (tmp_path / app_file).write_text(source)
    server = Server(tmp_path, argv)
    try:
        url = f"http://127.0.0.1:{port}/"
        first = get(url, server.proc, "v1 ")
        assert first == f"v1 hits=1 pid={server.proc.pid}"
        (tmp_path / app_file).write_text(source.replace('f"v1 hits', 'f"v2 hits'))
        second = get(url, server.proc, "v2 ")
        hits = int(second.split("hits=")[1].split()[0])
        assert hits >= 2  # the list of hits survived the edit
        assert second == f"v2 hits={hits} pid={server.proc.pid}"
        server.wait_for_output("hotswap: updated ")
        return server
    finally:
        server.stop()


def test_uvicorn_starlette_with_its_reload_flag(tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    port = free_port()
    argv = ["-m", "uvicorn", "app:app", "--port", str(port), "--reload"]
    output = serve_and_edit(tmp_path, "app.py", STARLETTE_APP, argv, port).output
    assert "uvicorn's restarting reloader is off" in output
    assert "updated app.home" in output


def test_flask_run_debug(tmp_path):
    pytest.importorskip("flask")
    port = free_port()
    argv = ["-m", "flask", "--app", "app", "run", "--debug", "--port", str(port)]
    output = serve_and_edit(tmp_path, "app.py", FLASK_APP, argv, port).output
    assert "werkzeug's restarting reloader is off" in output
    assert "updated app.home" in output


def test_flask_app_run_script(tmp_path):
    pytest.importorskip("flask")
    port = free_port()
    argv = ["server.py", str(port)]
    output = serve_and_edit(tmp_path, "server.py", FLASK_APP, argv, port).output
    assert "werkzeug's restarting reloader is off" in output
    assert "updated __main__.home" in output


def test_django_runserver(tmp_path):
    pytest.importorskip("django")
    for name, text in DJANGO_FILES.items():
        (tmp_path / name).write_text(text)
    port = free_port()
    argv = ["-m", "django", "runserver", f"127.0.0.1:{port}", "--settings=settings"]
    output = serve_and_edit(tmp_path, "views.py", DJANGO_VIEWS, argv, port).output
    assert "Django's restarting autoreloader is off" in output
    assert "updated views.home" in output
