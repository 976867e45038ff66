"""Routes a framework builds once stay current under hotswap: a handler's new signature, a new
route, an edited URLconf answer the next real HTTP request, from the same server process."""

from __future__ import annotations

import pytest
from test_web_servers import FLASK_APP as FLASK_SCRIPT
from test_web_servers import STARLETTE_APP, Server, free_port, get

FASTAPI_APP = """\
from fastapi import Depends, FastAPI, Request

app = FastAPI()


def current_user():
    return "real user"


@app.middleware("http")
async def tag_response(request: Request, call_next):
    response = await call_next(request)
    response.headers["x-tag"] = "kept"
    return response


@app.get("/search")
def search(user: str = Depends(current_user)):
    return {"q": 0, "user": user}


@app.get("/items/{item_id}")
def item(item_id: int):
    return {"item_id": item_id}


app.dependency_overrides[current_user] = lambda: "override"
"""

FASTAPI_MAIN = """\
from fastapi import FastAPI

import items

app = FastAPI()
app.include_router(items.router, prefix="/items")
"""
FASTAPI_ITEMS = """\
from fastapi import APIRouter

router = APIRouter()


@router.get("/{item_id}")
def item(item_id: int):
    return {"item_id": item_id}
"""

FLASK_APP = """\
from flask import Flask

app = Flask(__name__)


@app.route("/")
def home():
    return "home v1"
"""

DJANGO_SETTINGS = (
    'SECRET_KEY = "test"\nDEBUG = True\nALLOWED_HOSTS = ["127.0.0.1"]\n'
    'ROOT_URLCONF = "urls"\nINSTALLED_APPS = []\nDATABASES = {}\nMIDDLEWARE = []\n'
)
DJANGO_URLS = """\
from django.urls import path

import views

urlpatterns = [path("", views.home)]
"""
DJANGO_VIEWS = """\
from django.http import HttpResponse


def home(request):
    return HttpResponse("home v1")
"""


def edit(path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in the file at ``path``."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new))


def start(tmp_path, files: dict, argv: list) -> Server:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return Server(tmp_path, argv)


def uvicorn_server(tmp_path, port: int) -> Server:
    pytest.importorskip("fastapi", reason="fastapi is not installed")
    pytest.importorskip("uvicorn", reason="uvicorn is not installed")
    argv = ["-m", "uvicorn", "app:app", "--port", str(port), "--reload"]
    return start(tmp_path, {"app.py": FASTAPI_APP}, argv)


def test_fastapi_query_parameter_added_to_a_handler(tmp_path):
    port = free_port()
    server = uvicorn_server(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/search?q=7", server.proc, "{") == '{"q":0,"user":"override"}'
        edit(
            tmp_path / "app.py",
            'def search(user: str = Depends(current_user)):\n    return {"q": 0,',
            'def search(q: int = 0, user: str = Depends(current_user)):\n    return {"q": q,',
        )
        # The dependency override and the middleware are still in place after the rebuild.
        assert get(f"{base}/search?q=7", server.proc, '{"q":7') == '{"q":7,"user":"override"}'
        assert get(f"{base}/search", server.proc, '{"q":0') == '{"q":0,"user":"override"}'
        server.wait_for_output("route GET /search rebuilt: app.search changed")
        assert get(f"{base}/search?q=x", server.proc, '{"detail"', status=422)
        assert get(f"{base}/search?q=3", server.proc, '{"q":3', header="x-tag") == "kept"
    finally:
        server.stop()


def test_fastapi_new_route_and_path_parameter_type(tmp_path):
    port = free_port()
    server = uvicorn_server(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/items/5", server.proc, "{") == '{"item_id":5}'
        get(f"{base}/items/abc", server.proc, '{"detail"', status=422)
        edit(tmp_path / "app.py", "def item(item_id: int):", "def item(item_id: str):")
        assert get(f"{base}/items/abc", server.proc, "{") == '{"item_id":"abc"}'
        assert get(f"{base}/items/5", server.proc, "{") == '{"item_id":"5"}'
        get(f"{base}/new", server.proc, '{"detail"', status=404)
        new_route = '\n\n@app.get("/new/{n}")\ndef new(n: int):\n    return {"new": n * 2}\n'
        overrides = "\n\napp.dependency_overrides"
        edit(tmp_path / "app.py", overrides, new_route + overrides)
        assert get(f"{base}/new/21", server.proc, "{") == '{"new":42}'
        assert get(f"{base}/openapi.json", server.proc, "{").count('"/new/{n}"') == 1
        # A changed decorator moves the route: the old path is gone, as after a restart.
        edit(tmp_path / "app.py", '@app.get("/items/{item_id}")', '@app.get("/things/{item_id}")')
        assert get(f"{base}/things/abc", server.proc, "{") == '{"item_id":"abc"}'
        get(f"{base}/items/abc", server.proc, '{"detail"', status=404)
        schema = get(f"{base}/openapi.json", server.proc, "{")
        assert '"/things/{item_id}"' in schema and '"/items/' not in schema
    finally:
        server.stop()


def test_fastapi_included_router(tmp_path):
    pytest.importorskip("fastapi", reason="fastapi is not installed")
    pytest.importorskip("uvicorn", reason="uvicorn is not installed")
    port = free_port()
    files = {"app.py": FASTAPI_MAIN, "items.py": FASTAPI_ITEMS}
    server = start(tmp_path, files, ["-m", "uvicorn", "app:app", "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/items/5", server.proc, "{") == '{"item_id":5}'
        edit(tmp_path / "items.py", "def item(item_id: int):", "def item(item_id: str):")
        assert get(f"{base}/items/5", server.proc, '{"item_id":"') == '{"item_id":"5"}'
        new_route = '\n\n@router.get("/{item_id}/price")\ndef price(item_id: int):\n'
        new_route += '    return {"price": item_id * 10}\n'
        (tmp_path / "items.py").write_text((tmp_path / "items.py").read_text() + new_route)
        assert get(f"{base}/items/4/price", server.proc, "{") == '{"price":40}'
        assert get(f"{base}/openapi.json", server.proc, "{").count("/items/{item_id}/price") == 1
        edit(tmp_path / "items.py", '"/{item_id}/price"', '"/{item_id}/cost"')
        assert get(f"{base}/items/4/cost", server.proc, "{") == '{"price":40}'
        get(f"{base}/items/4/price", server.proc, '{"detail"', status=404)
    finally:
        server.stop()


def test_starlette_route_added_by_a_new_statement(tmp_path):
    pytest.importorskip("starlette", reason="starlette is not installed")
    pytest.importorskip("uvicorn", reason="uvicorn is not installed")
    port = free_port()
    server = start(
        tmp_path, {"app.py": STARLETTE_APP}, ["-m", "uvicorn", "app:app", "--port", str(port)]
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/", server.proc, "v1 ").startswith("v1 hits=1 ")
        new_route = (
            '\n\nasync def new(request):\n    return PlainTextResponse(f"new {len(HITS)}")\n'
        )
        new_route += '\n\napp.add_route("/new", new)\n'
        (tmp_path / "app.py").write_text(STARLETTE_APP + new_route)
        assert get(f"{base}/new", server.proc, "new") == "new 1"  # the same process and state
    finally:
        server.stop()


def test_flask_new_route_and_changed_view(tmp_path):
    pytest.importorskip("flask", reason="flask is not installed")
    port = free_port()
    argv = ["-m", "flask", "--app", "app", "run", "--debug", "--port", str(port)]
    server = start(tmp_path, {"app.py": FLASK_APP}, argv)
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/", server.proc, "home") == "home v1"  # the first request is served
        new_route = '\n\n@app.route("/about/<int:n>")\ndef about(n):\n    return f"about {n}"\n'
        edit(tmp_path / "app.py", 'return "home v1"\n', 'return "home v2"\n' + new_route)
        assert get(f"{base}/about/3", server.proc, "about") == "about 3"
        assert get(f"{base}/", server.proc, "home") == "home v2"
        # A changed decorator moves the route: the old URL is gone, as after a restart.
        edit(tmp_path / "app.py", '@app.route("/about/<int:n>")', '@app.route("/about/<int:n>/x")')
        assert get(f"{base}/about/4/x", server.proc, "about") == "about 4"
        get(f"{base}/about/4", server.proc, "<!doctype", status=404)
        assert get(f"{base}/", server.proc, "home") == "home v2"
        assert "can no longer be called" not in server.output
        assert "failed" not in server.output
    finally:
        server.stop()


def test_flask_script_new_route(tmp_path):
    """``app.run(debug=True)`` in the script: the app lives in ``__main__``."""
    pytest.importorskip("flask", reason="flask is not installed")
    port = free_port()
    server = start(tmp_path, {"server.py": FLASK_SCRIPT}, ["server.py", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/", server.proc, "v1 ").startswith("v1 hits=1 ")
        new_route = '\n\n@app.route("/count")\ndef count():\n    return f"count {len(HITS)}"\n'
        (tmp_path / "server.py").write_text(FLASK_SCRIPT + new_route)
        assert get(f"{base}/count", server.proc, "count") == "count 1"
    finally:
        server.stop()


def test_django_new_url_pattern_and_changed_view(tmp_path):
    pytest.importorskip("django", reason="django is not installed")
    port = free_port()
    files = {"settings.py": DJANGO_SETTINGS, "urls.py": DJANGO_URLS, "views.py": DJANGO_VIEWS}
    argv = ["-m", "django", "runserver", f"127.0.0.1:{port}", "--settings=settings"]
    server = start(tmp_path, files, argv)
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/", server.proc, "home") == "home v1"
        views = '\n\ndef about(request, n):\n    return HttpResponse(f"about {n}")\n'
        views += '\n\ndef other(request):\n    return HttpResponse("other")\n'
        home = 'HttpResponse("home v2")\n'
        edit(tmp_path / "views.py", 'HttpResponse("home v1")\n', home + views)
        assert get(f"{base}/", server.proc, "home v2") == "home v2"  # a changed view
        get(f"{base}/about/3/", server.proc, "<!DOCTYPE", status=404)
        edit(
            tmp_path / "urls.py",
            'urlpatterns = [path("", views.home)]',
            'urlpatterns = [path("", views.other), path("about/<int:n>/", views.about)]',
        )
        assert get(f"{base}/about/3/", server.proc, "about") == "about 3"  # a new URL pattern
        assert get(f"{base}/", server.proc, "other") == "other"  # a pattern's view changed
        server.wait_for_output("URL patterns reloaded from urls")
    finally:
        server.stop()
