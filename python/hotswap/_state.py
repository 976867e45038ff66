"""State that survives reloads, and callbacks around them.

The engine calls the callbacks: they are kept in the module's own globals (under
``__hotswap_before_reload__`` / ``__hotswap_after_reload__``, by qualified name), so defining
them again when the module is re-run replaces them instead of adding a second copy.
"""

from __future__ import annotations

import sys

# _thread, not threading: importing threading (and functools, collections) costs every program
# ~1.5 ms at start.
from _thread import allocate_lock

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, Tuple, TypeVar

    T = TypeVar("T")
    F = TypeVar("F", bound=Callable[[], object])


_kept: Dict[Tuple[str, str], object] = {}
_kept_lock = allocate_lock()


def _caller_module(depth: int = 2) -> str:
    return sys._getframe(depth).f_globals.get("__name__", "__main__")


def keep(key: str, factory: Callable[[], T]) -> T:
    """Return the value kept under ``key`` for the calling module, creating it once.

    The first call runs ``factory()`` and keeps its result; later calls, including when the
    statement is re-run because the module was edited, return that same object::

        connections = hotswap.keep("connections", dict)
        model = hotswap.keep("model", lambda: load_model("weights.bin"))

    Keys are per module, so two modules can both keep a ``"cache"``.
    """
    slot = (_caller_module(), key)
    with _kept_lock:
        if slot in _kept:
            return _kept[slot]  # type: ignore[return-value]
    value = factory()
    with _kept_lock:
        return _kept.setdefault(slot, value)  # type: ignore[return-value]


def _register(attribute: str, callback: F) -> F:
    if not callable(callback):
        raise TypeError("expected a function")
    module = sys.modules.get(getattr(callback, "__module__", None) or "")
    namespace = module.__dict__ if module is not None else sys._getframe(2).f_globals
    hooks = namespace.setdefault(attribute, {})
    hooks[getattr(callback, "__qualname__", repr(callback))] = callback
    return callback


def before_reload(callback: F) -> F:
    """Decorator: call ``callback()`` just before an edit to its module is applied.

    Use it to pause work or save state the edit could disturb. Registering the same function
    again (when the module is re-run) replaces it.
    """
    return _register("__hotswap_before_reload__", callback)


def after_reload(callback: F) -> F:
    """Decorator: call ``callback()`` right after an edit to its module was applied.

    Use it to rebuild derived state (caches, menus, routes) from the new code. Registering the
    same function again (when the module is re-run) replaces it.
    """
    return _register("__hotswap_after_reload__", callback)
