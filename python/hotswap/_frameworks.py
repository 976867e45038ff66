"""Web frameworks under the ``hotswap`` command: their restart-based reloaders are turned off.

``flask run --debug``, ``app.run(debug=True)`` (werkzeug), ``uvicorn --reload`` and Django's
``runserver`` restart the whole process on every save, which throws away the state hotswap
keeps. When the program runs under the ``hotswap`` command, those modules are adjusted right
after they are imported so the server runs in this process and edits are applied in place.
"""

from __future__ import annotations

import functools
import importlib.util
import sys

from . import _log as log

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict


def _werkzeug_serving(module) -> None:
    original = module.run_simple

    @functools.wraps(original)
    def run_simple(*args, **kwargs):
        if kwargs.get("use_reloader"):
            log.info("werkzeug's restarting reloader is off: hotswap applies edits in place")
        kwargs["use_reloader"] = False
        return original(*args, **kwargs)

    module.run_simple = run_simple


def _uvicorn_config(module) -> None:
    config = module.Config
    original = config.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if getattr(self, "reload", False):
            log.info("uvicorn's restarting reloader is off: hotswap applies edits in place")
            self.reload = False

    config.__init__ = __init__


def _django_autoreload(module) -> None:
    def run_with_reloader(main_func, *args, **kwargs):
        log.info("Django's restarting autoreloader is off: hotswap applies edits in place")
        try:
            main_func(*args, **kwargs)
        except KeyboardInterrupt:
            pass

    module.run_with_reloader = run_with_reloader


ADJUST: Dict[str, Callable] = {
    "django.utils.autoreload": _django_autoreload,
    "werkzeug.serving": _werkzeug_serving,
    "uvicorn.config": _uvicorn_config,
}


class _Loader:
    # Not an importlib.abc.Loader subclass: importing importlib.abc costs the program ~10 ms.

    def __init__(self, loader, adjust: Callable) -> None:
        self.loader = loader
        self.adjust = adjust

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        try:
            self.adjust(module)
        except Exception as exc:  # a framework version this does not know: leave it as is
            log.debug("could not adjust %s: %s", module.__name__, exc)


class _Finder:
    def __init__(self) -> None:
        self.finding: set = set()

    def find_spec(self, name, path, target=None):
        adjust = ADJUST.get(name)
        if adjust is None or name in self.finding:
            return None
        self.finding.add(name)  # the search below asks this finder again: say no then
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.finding.discard(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _Loader(spec.loader, adjust)
        return spec


def install() -> None:
    """Adjust the frameworks already imported, and those imported from now on."""
    for name, adjust in ADJUST.items():
        if name in sys.modules:
            adjust(sys.modules[name])
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
