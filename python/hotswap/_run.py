"""Running the program the command line names: a script, ``-m module``, ``-m module:function``.

The program runs exactly as under ``python`` (``__main__``, ``sys.argv``, ``sys.path[0]``, exit
code, tracebacks without hotswap's frames). A target that cannot be found is a usage error (one
line, exit 2); an exception raised by the user's own code is shown as ``python`` shows it.
"""

from __future__ import annotations

import builtins
import importlib
import os
import sys
import types

from ._options import UsageError

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, List, Optional, Tuple


_HERE = os.path.dirname(os.path.abspath(__file__))
_IMPORTLIB = os.path.dirname(os.path.abspath(importlib.__file__))
_IMPORT_HOOK = os.path.join(_HERE, "_importhook.py")


def _is_machinery(filename: str, leading: bool) -> bool:
    """A frame ``python`` would not show: importlib's, hotswap's import hook (which sits inside
    the chunk of importlib frames that the import statement trims), and before the user's
    first frame, hotswap's own."""
    if filename.startswith("<frozen importlib"):
        return True
    path = os.path.abspath(filename)
    if path == _IMPORT_HOOK:
        return True
    return leading and os.path.dirname(path) in (_HERE, _IMPORTLIB)


def user_traceback(exc: BaseException) -> Optional[types.TracebackType]:
    """The traceback as ``python script.py`` shows it: without hotswap's and importlib's
    frames (the traceback is relinked in place)."""
    kept: List[types.TracebackType] = []
    tb = exc.__traceback__
    while tb is not None:
        if not _is_machinery(tb.tb_frame.f_code.co_filename, leading=not kept):
            kept.append(tb)
        tb = tb.tb_next
    for earlier, later in zip(kept, kept[1:]):
        earlier.tb_next = later
    if kept:
        kept[-1].tb_next = None
    return kept[0] if kept else None


def show_user_exception(exc: BaseException) -> None:
    """Print ``exc`` through ``sys.excepthook``, starting at the user's first frame."""
    from . import _tracebacks

    tb = user_traceback(exc)
    _tracebacks.show(exc.with_traceback(tb), tb)


def fresh_main(path: Optional[str]) -> types.ModuleType:
    """An empty ``__main__`` module in ``sys.modules``, as ``python`` makes for a script."""
    main = types.ModuleType("__main__")
    main.__dict__.update({"__builtins__": builtins, "__spec__": None, "__cached__": None})
    if path is not None:
        main.__file__ = path
    sys.modules["__main__"] = main
    return main


def _compile_main(source: bytes, path: str, live_loops: bool) -> types.CodeType:
    """The script's code, with its main ``while True:`` loops made live (see ``_liveloop``)."""
    # No `while` anywhere: nothing to make live, and importing ast costs ~5 ms.
    if live_loops and b"while" in source:
        import ast

        from ._liveloop import make_main_loops_live

        try:
            tree = ast.parse(source, path)
        except (SyntaxError, ValueError):
            tree = None  # compiled as is below, so the error reads as under python
        if tree is not None and make_main_loops_live(tree):
            return compile(tree, path, "exec", dont_inherit=True)
    return compile(source, path, "exec", dont_inherit=True)


def run_script(script: str, args: List[str], live_loops: bool = False) -> types.ModuleType:
    """Run ``script`` as ``__main__``, its source recorded first so its first edit applies."""
    from . import _core

    path = os.path.abspath(script)
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as exc:
        raise UsageError(
            f"can't open file {script!r}: [Errno {exc.errno}] {exc.strerror}"
        ) from None
    sys.argv[:] = [script, *args]
    sys.path[0] = os.path.dirname(path)
    main = fresh_main(path)
    _core.record_source(path, source)
    code = _compile_main(source, path, live_loops)
    from . import _tracebacks

    _tracebacks.remember(code, source)  # its lines may move while it runs
    exec(code, main.__dict__)
    return main


def _not_found(exc: ImportError, name: str) -> bool:
    """Whether ``exc`` says ``name`` itself (or a package above it) does not exist, rather than
    that the user's module failed to import something."""
    missing = getattr(exc, "name", None)
    return isinstance(exc, ModuleNotFoundError) and (
        missing == name or (missing is not None and name.startswith(missing + "."))
    )


def import_target(name: str, option: str) -> types.ModuleType:
    """Import the user's module ``name``; one not found is a usage error of ``option``."""
    try:
        # The import statement's own machinery: a failing import shows no importlib frames.
        __import__(name)
        return sys.modules[name]
    except ModuleNotFoundError as exc:
        if _not_found(exc, name):
            where = sys.path[0] or os.getcwd()
            raise UsageError(
                f"{option}: no module named {exc.name!r} (looked in {where} and sys.path)"
            ) from None
        raise


def load_function(target: str, option: str) -> Tuple[types.ModuleType, Callable[[], object]]:
    """``module:function`` → the imported module and its function (usage errors if missing)."""
    name, _, attr = target.partition(":")
    module = import_target(name, option)
    function = getattr(module, attr, None)
    if function is None:
        raise UsageError(f"{option}: module {name!r} has no function {attr!r}")
    if not callable(function):
        raise UsageError(
            f"{option}: {target} is not a function (it is of type {type(function).__name__})"
        )
    return module, function


def _main_file(name: str) -> Optional[str]:
    """The file ``python -m name`` runs: the module's, or its ``__main__.py`` for a package
    (recording the package's ``__init__.py`` instead would lose the first edit of the file
    that runs)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError as exc:
        if not _not_found(exc, name):
            raise
        spec = None
    if spec is None:
        where = sys.path[0] or os.getcwd()
        raise UsageError(f"-m: no module named {name!r} (looked in {where} and sys.path)")
    if spec.submodule_search_locations is None:
        return spec.origin
    main_spec = importlib.util.find_spec(name + ".__main__")
    if main_spec is None:
        raise UsageError(f"-m: {name!r} is a package without a __main__ module to run")
    return main_spec.origin


def run_module(target: str, args: List[str]) -> types.ModuleType:
    """``-m module`` (run as ``__main__``) or ``-m module:function`` (call it; an int it
    returns is the exit status)."""
    import runpy

    from . import _core

    name, _, function = target.partition(":")
    sys.argv[:] = [target, *args]
    sys.path[0] = os.getcwd()
    if function:
        module, call = load_function(target, "-m")
        result = call()
        if isinstance(result, int) and not isinstance(result, bool):
            raise SystemExit(result)
        return module
    origin = _main_file(name)
    if origin and origin.endswith(".py"):
        with open(origin, "rb") as f:
            _core.record_source(origin, f.read())
    sys.argv[0] = origin or name
    namespace = runpy.run_module(name, run_name="__main__", alter_sys=True)
    module = types.ModuleType("__main__")
    module.__dict__.update(namespace)
    return module
