"""Web frameworks under the ``hotswap`` command: restart reloaders off, routes kept current.

``flask run --debug``, ``app.run(debug=True)`` (werkzeug), ``uvicorn --reload`` and Django's
``runserver`` restart the whole process on every save, which throws away the state hotswap
keeps. When the program runs under the ``hotswap`` command, those modules are adjusted right
after they are imported so the server runs in this process and edits are applied in place.

Frameworks also read a handler's signature or a URLconf once, when the route is built. After
each batch, :func:`after_batch` brings those up to date from what the engine's report says
changed (never from the source): FastAPI routes whose handler or dependencies changed are built
again from the same arguments, and a re-decorated handler's new routes replace its old ones;
Flask accepts the routes an edited module adds, and replaces a re-decorated view's rules; Django
drops its URL caches when a URLconf module changed.
"""

from __future__ import annotations

import sys
import weakref

from . import _core
from . import _log as log

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict


def _inspect():
    # Imported on first use: inspect costs every program ~10 ms at start, and only the route
    # updates after an edit need it.
    import inspect

    return inspect


def _wraps(wrapped):
    import functools  # on first use, like inspect: it costs every program ~1 ms at start

    return functools.wraps(wrapped)


def _copy(obj):
    import copy  # on first use, like inspect

    return copy.copy(obj)


def _werkzeug_serving(module) -> None:
    original = module.run_simple

    @_wraps(original)
    def run_simple(*args, **kwargs):
        if kwargs.get("use_reloader"):
            log.info("werkzeug's restarting reloader is off: hotswap applies edits in place")
        kwargs["use_reloader"] = False
        return original(*args, **kwargs)

    module.run_simple = run_simple


def _uvicorn_config(module) -> None:
    config = module.Config
    original = config.__init__

    @_wraps(original)
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


# FastAPI builds a route's parameter model (``route.dependant``, the body field, the response
# field) from the handler's signature once, in ``APIRoute.__init__``. The arguments of that call
# are kept on the route, so the route can be built again, from the same arguments, after an
# edit changed the handler's signature; the routers and apps are kept to refresh their caches.
_ROUTE_ARGS = "_hotswap_route_args"
# Keyed by id(): routes and routers define __eq__ without __hash__, so no WeakSet can hold them.
_fastapi_routes: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_fastapi_routers: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_fastapi_apps: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
# Routes built while an edit re-ran module code (a new route, a re-run decorator): the batch's
# report then says whether they replace the routes of an earlier function of the same name.
_fastapi_routes_built_in_reload: list = []
# Older FastAPI versions copy a router's routes into the router including it: how each router
# was included, to copy the routes an edit adds to it later (newer ones include it live).
_fastapi_includes: list = []


def _fastapi_routing(module) -> None:
    route_init = module.APIRoute.__init__

    @_wraps(route_init)
    def route_init_kept(self, *args, **kwargs):
        route_init(self, *args, **kwargs)
        vars(self)[_ROUTE_ARGS] = (route_init, args, kwargs, _signature_text(self.endpoint))
        _fastapi_routes[id(self)] = self
        if _core.currently_reloading():
            _fastapi_routes_built_in_reload.append(self)

    module.APIRoute.__init__ = route_init_kept
    _keep_instances(module.APIRouter, _fastapi_routers)
    include = module.APIRouter.include_router

    @_wraps(include)
    def include_router_kept(self, router, *args, **kwargs):
        result = include(self, router, *args, **kwargs)
        if not any(getattr(route, "original_router", None) is router for route in self.routes):
            record = (weakref.ref(self), weakref.ref(router), include, args, kwargs)
            _fastapi_includes.append(record)
        return result

    module.APIRouter.include_router = include_router_kept


def _signature_text(call) -> str:
    try:
        return str(_inspect().signature(call))
    except (TypeError, ValueError):  # no signature to read: FastAPI would have refused it
        return ""


def _fastapi_applications(module) -> None:
    _keep_instances(module.FastAPI, _fastapi_apps)


def _keep_instances(cls, instances: weakref.WeakValueDictionary) -> None:
    original = cls.__init__

    @_wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        instances[id(self)] = self

    cls.__init__ = __init__


def _flask_app(module) -> None:
    # Flask refuses setup methods (``route``, ``add_url_rule``, ...) once the app has handled a
    # request, to catch setup code run by mistake inside a request. It has no documented way to
    # lift that, and setting the private ``_got_first_request`` back would also hide real
    # mistakes. So the check is skipped only while hotswap re-runs an edited module's top-level
    # code: that code is the app's own setup, which a restart would run before any request.
    flask = module.Flask
    if hasattr(flask, "_check_setup_finished"):  # Flask 2.2+
        check = flask._check_setup_finished

        @_wraps(check)
        def check_setup_finished(self, f_name):
            if not _core.currently_reloading():
                check(self, f_name)

        flask._check_setup_finished = check_setup_finished
    elif hasattr(flask, "_is_setup_finished"):  # Flask 2.0 and 2.1
        finished = flask._is_setup_finished

        @_wraps(finished)
        def is_setup_finished(self):
            return finished(self) and not _core.currently_reloading()

        flask._is_setup_finished = is_setup_finished
    _replace_redecorated_views(flask)


def _replace_redecorated_views(flask) -> None:
    """A view whose ``@app.route`` line changed is registered again under its endpoint: its
    old rules go, as a restart would not create them (Flask would refuse the new function)."""
    add_url_rule = flask.add_url_rule

    @_wraps(add_url_rule)
    def add_url_rule_replacing(self, rule, endpoint=None, view_func=None, *args, **kwargs):
        if view_func is not None and _core.currently_reloading():
            _forget_replaced_view(self, endpoint or view_func.__name__, view_func)
        return add_url_rule(self, rule, endpoint, view_func, *args, **kwargs)

    flask.add_url_rule = add_url_rule_replacing


def _forget_replaced_view(app, endpoint: str, view_func) -> None:
    old = app.view_functions.get(endpoint)
    if old is None or old is view_func or _qualified_name(old) != _qualified_name(view_func):
        return  # a new endpoint, a second rule for the same function, or another function
    del app.view_functions[endpoint]
    kept = [rule for rule in app.url_map.iter_rules() if rule.endpoint != endpoint]
    # werkzeug's Map cannot remove a rule: a new map with the same settings gets the others
    # (``Rule.empty()`` is werkzeug's unbound copy of a rule, for reuse in another map).
    url_map = app.url_map
    settings = _inspect().signature(type(url_map).__init__).parameters
    fresh = type(url_map)(
        **{
            name: getattr(url_map, name)
            for name in settings
            if name not in ("self", "rules") and hasattr(url_map, name)
        }
    )
    for rule in kept:
        fresh.add(rule.empty())
    app.url_map = fresh
    log.info(
        "Flask endpoint %s: its old URL rules were removed, its edited route replaces them",
        endpoint,
    )


ADJUST: Dict[str, Callable] = {
    "django.utils.autoreload": _django_autoreload,
    "werkzeug.serving": _werkzeug_serving,
    "uvicorn.config": _uvicorn_config,
    "fastapi.routing": _fastapi_routing,
    "fastapi.applications": _fastapi_applications,
    "flask.app": _flask_app,
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


class _AdjustingFinder:
    """The finder of a framework's package directory, as the other path hooks make it, with
    the loader of each module to adjust wrapped."""

    def __init__(self, inner, modules: Dict[str, Callable]) -> None:
        self.inner = inner
        self.modules = modules

    def find_spec(self, name, target=None):
        spec = self.inner.find_spec(name, target)
        adjust = self.modules.get(name)
        if adjust is None or spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, adjust)
        return spec

    def invalidate_caches(self) -> None:
        getattr(self.inner, "invalidate_caches", lambda: None)()

    def iter_modules(self, prefix: str = ""):
        """What ``pkgutil.iter_modules`` lists for the inner finder (it knows FileFinder's
        type, not this one's)."""
        import pkgutil

        return pkgutil.iter_importer_modules(self.inner, prefix)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


class _PathHook:
    """A path hook for the directories holding the modules of ADJUST: only imports from those
    directories go through it (Python asks a path hook once per directory, where a finder on
    ``sys.meta_path`` would be asked about every import, a few microseconds each)."""

    def __init__(self, directories: Dict[str, Dict[str, Callable]]) -> None:
        self.directories = directories

    def __call__(self, entry):
        import os

        modules = self.directories.get(os.path.abspath(entry)) if isinstance(entry, str) else None
        if modules is None:
            raise ImportError("not a framework's directory")
        for hook in sys.path_hooks:  # the finder Python would make without this hook
            if hook is self:
                continue
            try:
                return _AdjustingFinder(hook(entry), modules)
            except ImportError:
                continue
        raise ImportError("no finder for " + entry)


def _framework_directories() -> Dict[str, Dict[str, Callable]]:
    """Directory → {module name: adjust} for the modules of ADJUST that can be imported."""
    import os
    from importlib.machinery import PathFinder

    directories: Dict[str, Dict[str, Callable]] = {}
    for name, adjust in ADJUST.items():
        top, _, rest = name.partition(".")
        spec = PathFinder.find_spec(top)
        if spec is None or not spec.submodule_search_locations:
            continue
        inside = rest.split(".")[:-1]  # django.utils.autoreload: the utils directory
        for location in spec.submodule_search_locations:
            directory = os.path.abspath(os.path.join(location, *inside))
            directories.setdefault(directory, {})[name] = adjust
    return directories


def install() -> None:
    """Adjust the frameworks already imported, and those imported from now on."""
    for name, adjust in ADJUST.items():
        if name in sys.modules:
            adjust(sys.modules[name])
    if any(isinstance(hook, _PathHook) for hook in sys.path_hooks):
        return
    directories = _framework_directories()
    if not directories:
        return
    sys.path_hooks.insert(0, _PathHook(directories))
    for directory in directories:  # finders made before the hook existed are made again
        sys.path_importer_cache.pop(directory, None)


def after_batch(report) -> None:
    """Bring the frameworks' routes up to date with what ``report`` says a batch changed."""
    if not report.modules:
        return
    changed = set(report.updated) | set(report.recreated)
    for refresh in (_refresh_fastapi, _refresh_django):
        try:
            refresh(report, changed)
        except Exception as exc:  # a framework version this does not know: say so, go on
            name = refresh.__name__
            log.warning("could not update the routes after the edit (%s): %s", name, exc)


def _qualified_name(call) -> str:
    """``module.qualname`` of a handler or dependency, as the report names it."""
    inspect = _inspect()
    target = inspect.unwrap(call) if inspect.isfunction(call) or inspect.ismethod(call) else call
    if not (inspect.isroutine(target) or inspect.isclass(target)):
        target = type(target)  # an instance whose __call__ is the dependency
    target = getattr(target, "__func__", target)
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"


def _route_calls(route) -> list:
    """The handler of a FastAPI route and every dependency it declares, nested ones too."""
    calls = [route.endpoint]
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", None) or [])
    while pending:
        dependant = pending.pop()
        if dependant.call is not None:
            calls.append(dependant.call)
        pending.extend(dependant.dependencies)
    return calls


def _is_changed(name: str, changed: set) -> bool:
    prefix = name + "."  # a class dependency whose __init__ changed is reported as K.__init__
    return name in changed or any(item.startswith(prefix) for item in changed)


def _refresh_fastapi(report, changed: set) -> None:
    built = _fastapi_routes_built_in_reload[:]
    del _fastapi_routes_built_in_reload[:]
    built += _copy_into_including_routers(built)
    touched = _drop_replaced_fastapi_routes(built, changed)
    rebuilt = []
    for route in list(_fastapi_routes.values()):
        names = [_qualified_name(call) for call in _route_calls(route)]
        hit = next((name for name in names if _is_changed(name, changed)), None)
        if hit is not None and _rebuild_fastapi_route(route, hit):
            rebuilt.append(route)
    rebuilt_ids = {id(route) for route in rebuilt}  # Route.__eq__ compares paths
    touched_ids = {id(router) for router in touched}
    for router in list(_fastapi_routers.values()):
        if id(router) not in touched_ids and any(id(r) in rebuilt_ids for r in router.routes):
            touched.append(router)
    if not touched:
        return
    for router in touched:
        mark_changed = getattr(router, "_mark_routes_changed", None)
        if mark_changed is not None:  # newer FastAPI versions cache included routes by version
            mark_changed()
    for app in list(_fastapi_apps.values()):
        app.openapi_schema = None  # documented: the schema is generated again when None


def _drop_replaced_fastapi_routes(built: list, changed: set) -> list:
    """Remove the routes of a handler that an edited decorator registered again.

    The edit defined the handler anew and its decorator added the new routes; the routes of the
    function it replaced (same name, another object) would still answer, which a restart would
    not do. Only routers that received a new route for that name lose the old ones.
    """
    new_endpoints = {}
    for route in built:
        name = _qualified_name(route.endpoint)
        if name in changed:
            new_endpoints.setdefault(name, set()).add(id(route.endpoint))
    touched = []
    if not new_endpoints:
        return touched
    built_ids = {id(route) for route in built}
    for router in list(_fastapi_routers.values()):
        if not any(id(route) in built_ids for route in router.routes):
            continue
        replaced = [route for route in router.routes if _replaced(route, new_endpoints)]
        for route in replaced:
            router.routes[:] = [kept for kept in router.routes if kept is not route]
            log.info("route %s removed: its handler's edited decorator replaced it", route.path)
        if replaced:
            touched.append(router)
    return touched


def _copy_into_including_routers(built: list) -> list:
    """Routes an edit added to a router that an older FastAPI copied into another one: copied
    there the same way (through ``include_router`` with the same arguments); the copies."""
    copies: list = []
    pending = built
    while pending:
        pending_ids = {id(route) for route in pending}
        pending = []
        for parent_ref, child_ref, include, args, kwargs in list(_fastapi_includes):
            parent, child = parent_ref(), child_ref()
            new = [] if child is None else [r for r in child.routes if id(r) in pending_ids]
            if parent is None or not new:
                continue
            known = {id(route) for route in parent.routes}
            part = _copy(child)  # the router's settings, with only the new routes
            part.routes = new
            for handlers in ("on_startup", "on_shutdown"):  # those ran already
                if hasattr(part, handlers):
                    setattr(part, handlers, [])
            include(parent, part, *args, **kwargs)
            pending += [route for route in parent.routes if id(route) not in known]
        copies += pending  # the parent may itself be included somewhere: copied there next
    return copies


def _replaced(route, new_endpoints: dict) -> bool:
    endpoint = getattr(route, "endpoint", None)
    if endpoint is None or _ROUTE_ARGS not in vars(route):
        return False
    ids = new_endpoints.get(_qualified_name(endpoint))
    return ids is not None and id(endpoint) not in ids


def _rebuild_fastapi_route(route, changed_name: str) -> bool:
    """Build ``route`` again in place from its arguments, so it reads the new signature.

    The route object stays the same (its place in the router, references held to it); a route
    that fails to build (a parameter FastAPI rejects) keeps answering as before.
    """
    route_init, args, kwargs, before = vars(route)[_ROUTE_ARGS]
    fresh = _copy(route)
    try:
        route_init(fresh, *args, **kwargs)
    except Exception as exc:
        log.error("route %s keeps its old parameters: %s: %s", route.path, changed_name, exc)
        return False
    vars(fresh)[_ROUTE_ARGS] = (route_init, args, kwargs, _signature_text(fresh.endpoint))
    vars(route).update(vars(fresh))
    methods = ",".join(sorted(getattr(route, "methods", None) or ()))
    # A body edit needs no rebuild (the handler's code is swapped in place): only say it when
    # what FastAPI reads changed, the handler's signature or a dependency.
    if _signature_text(route.endpoint) != before or changed_name != _qualified_name(route.endpoint):
        log.info("route %s %s rebuilt: %s changed", methods, route.path, changed_name)
    else:
        log.debug("route %s %s rebuilt: %s changed", methods, route.path, changed_name)
    return True


def _refresh_django(report, changed: set) -> None:
    urls = sys.modules.get("django.urls")
    if urls is None:
        return
    urlconfs = [name for name in report.modules if hasattr(sys.modules.get(name), "urlpatterns")]
    if urlconfs:
        urls.clear_url_caches()  # the next request resolves against the edited urlpatterns
        log.info("URL patterns reloaded from %s", ", ".join(urlconfs))
