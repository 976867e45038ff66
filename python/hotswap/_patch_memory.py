"""Patching what has no source file: functions, methods and classes defined in ``__main__`` by
``python -c`` or stdin, at the REPL, in IPython and notebook cells.

There is no file text for the engine to diff, so the new source is compiled here the way its
definition was: in the object's own globals with its module's ``__future__`` flags, and a method
inside its class's namespace (name mangling, the ``__class__`` cell, class attributes visible to
its defaults). A live function takes the new code in place, so every reference taken before the
patch runs it; what cannot (a different kind of object, changed free variables) is bound anew
by name, and the report says that old references keep the old object. Everything changed is
recorded so that :meth:`InMemoryChange.undo` puts it back.
"""

from __future__ import annotations

import itertools
import linecache
import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["InMemoryChange", "MemoryReport", "apply_in_memory"]

_MISSING = object()
_patch_numbers = itertools.count(1)
# Annotations are lazy from 3.14: reading ``__annotations__`` would evaluate them.
_ANNOTATIONS = "__annotate__" if sys.version_info >= (3, 14) else "__annotations__"
# Free variables a definition of a module or class body can have: only the class cell.
_BODY_FREEVARS = ((), ("__class__",))
# Class attributes that belong to the class object itself, never copied from a scratch class.
_OWN_CLASS_ATTRIBUTES = {"__dict__", "__weakref__", "__module__", "_abc_impl", "__classcell__"}


def _future_flags() -> int:
    """The ``__future__`` features that still change how code compiles (the others are no-ops
    or, like ``nested_scopes``, share a bit with ordinary code flags)."""
    import __future__

    return __future__.annotations.compiler_flag | __future__.barry_as_FLUFL.compiler_flag


class MemoryReport:
    """What a patch of an object without a source file changed (the names a file patch's
    :class:`hotswap.Report` has)."""

    def __init__(self) -> None:
        self.updated: List[str] = []
        self.added: List[str] = []
        self.deleted: List[str] = []
        self.recreated: List[str] = []
        self.moved: List[str] = []
        self.notes: List[str] = []
        self.errors: list = []
        self.rude: list = []

    def summary(self) -> str:
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("updated", self.updated),
                ("added", self.added),
                ("deleted", self.deleted),
                ("re-created", self.recreated),
            )
            if names
        ]
        return "; ".join(parts) or "nothing changed"

    def __bool__(self) -> bool:
        return bool(self.updated or self.added or self.deleted or self.recreated)

    def __repr__(self) -> str:
        return f"<hotswap patch report: {self.summary()}>"


def _function_state(function: types.FunctionType) -> Dict[str, Any]:
    state = {
        "__code__": function.__code__,
        "__defaults__": function.__defaults__,
        "__kwdefaults__": function.__kwdefaults__,
        "__doc__": function.__doc__,
        _ANNOTATIONS: getattr(function, _ANNOTATIONS),
    }
    if state[_ANNOTATIONS] is None:  # 3.14 with eager annotations: the dict is the state
        state["__annotations__"] = function.__annotations__
    return state


def _set_function_state(function: types.FunctionType, state: Dict[str, Any], holder: Any) -> None:
    """``function`` given ``state``; a cache in front of it (``holder``) forgets old results."""
    for name, value in state.items():
        setattr(function, name, value)
    cache_clear = getattr(holder, "cache_clear", None)
    if callable(cache_clear):
        cache_clear()


def _inner_function(value: object) -> Optional[types.FunctionType]:
    """The plain function a class or module attribute runs: under ``staticmethod``,
    ``classmethod`` and wrappers that set ``__wrapped__`` (``functools.wraps``, caches)."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    for _ in range(100):  # a __wrapped__ chain, without trusting it to end
        if isinstance(value, types.FunctionType):
            return value
        value = getattr(value, "__wrapped__", None)
        if value is None:
            return None
    return None


class _Namespace:
    """Where a name is bound: a module's globals dict or a class."""

    def __init__(self, holder: Any, qualified_prefix: str) -> None:
        self.holder = holder
        self.prefix = qualified_prefix

    def get(self, name: str) -> Any:
        if isinstance(self.holder, dict):
            return self.holder.get(name, _MISSING)
        return self.holder.__dict__.get(name, _MISSING)

    def set(self, name: str, value: Any) -> None:
        if value is _MISSING:
            if isinstance(self.holder, dict):
                self.holder.pop(name, None)
            elif name in self.holder.__dict__:
                delattr(self.holder, name)
        elif isinstance(self.holder, dict):
            self.holder[name] = value
        else:
            setattr(self.holder, name, value)


class InMemoryChange:
    """Everything one patch changed, in order, so :meth:`undo` can put it back."""

    def __init__(self, module_name: str) -> None:
        self.module_name = module_name
        self.report = MemoryReport()
        self._undo: List[Callable[[], None]] = []

    def update_function(
        self, function: types.FunctionType, new: types.FunctionType, holder: Any
    ) -> None:
        """``function`` runs ``new``'s code (``holder``: what the name is bound to, maybe a
        wrapper around ``function``)."""
        before = _function_state(function)
        _set_function_state(function, _function_state(new), holder)
        self._undo.append(lambda: _set_function_state(function, before, holder))

    def bind(self, namespace: _Namespace, name: str, value: Any) -> None:
        before = namespace.get(name)
        namespace.set(name, value)
        self._undo.append(lambda: namespace.set(name, before))

    def undo(self) -> MemoryReport:
        """Puts back what the patch changed; the report of that."""
        while self._undo:
            self._undo.pop()()
        done, undone = self.report, MemoryReport()
        undone.updated, undone.recreated = list(done.updated), list(done.recreated)
        undone.added, undone.deleted = list(done.deleted), list(done.added)
        return undone

    def qualified(self, namespace: _Namespace, name: str) -> str:
        return f"{self.module_name}.{namespace.prefix}{name}"


def _compile_in_scope(source: str, class_names: List[str], flags: int) -> types.CodeType:
    """``source`` compiled inside the classes ``class_names`` (outermost first), as it would
    be in its file; the code of the innermost class body, or the module's code."""
    lines = []
    for depth, name in enumerate(class_names):
        lines.append("    " * depth + f"class {name}:")
    indent = "    " * len(class_names)
    lines.extend(indent + line if line.strip() else "" for line in source.splitlines())
    text = "\n".join(lines) + "\n"
    filename = f"<hotswap.patch-{next(_patch_numbers)}>"
    # Tracebacks through the new code show its lines, as for a cell or a prompt input.
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    code = compile(text, filename, "exec", flags, True)
    for name in class_names:
        code = next(
            c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == name
        )
    return code


def _run_in_scope(
    source: str, globals_: dict, classes: List[type], flags: int
) -> Tuple[Dict[str, Any], Any]:
    """Runs ``source`` as the body of the innermost of ``classes`` would (or at module level):
    the names it binds, and the class cell its methods use (set to the real class)."""
    code = _compile_in_scope(source, [c.__name__ for c in classes], flags)
    namespace: Dict[str, Any] = dict(classes[-1].__dict__) if classes else {}
    before = dict(namespace)
    exec(code, globals_, namespace)
    cell = namespace.pop("__classcell__", None)
    if cell is not None:
        cell.cell_contents = classes[-1]
    bound = {k: v for k, v in namespace.items() if k not in before or before[k] is not v}
    return bound, cell


def _resolve_classes(globals_: dict, qualname: str) -> List[type]:
    """The live classes enclosing ``qualname`` (outermost first), looked up by name."""
    found: List[type] = []
    holder: Any = globals_
    for part in qualname.split(".")[:-1]:
        value = holder.get(part) if isinstance(holder, dict) else holder.__dict__.get(part)
        if not isinstance(value, type):
            where = ".".join(qualname.split(".")[: len(found) + 1])
            raise LookupError(f"cannot patch {qualname}: {where} is not a class of its module now")
        found.append(value)
        holder = value
    return found


def _namespace_of(globals_: dict, classes: List[type]) -> _Namespace:
    if not classes:
        return _Namespace(globals_, "")
    return _Namespace(classes[-1], classes[-1].__qualname__ + ".")


def _set_member(change: InMemoryChange, namespace: _Namespace, name: str, new: Any) -> None:
    """Binds ``name`` to ``new``: the live function takes the new code in place when both are
    the same kind of object and the code needs no other free variables; else bound anew."""
    old = namespace.get(name)
    qualified = change.qualified(namespace, name)
    if old is _MISSING:
        change.bind(namespace, name, new)
        change.report.added.append(qualified)
        return
    old_function, new_function = _inner_function(old), _inner_function(new)
    if (
        old_function is not None
        and new_function is not None
        and type(old) is type(new)
        and old_function.__code__.co_freevars == new_function.__code__.co_freevars
        and new_function.__code__.co_freevars in _BODY_FREEVARS
    ):
        change.update_function(old_function, new_function, old)
        change.report.updated.append(qualified)
        return
    change.bind(namespace, name, new)
    if old_function is not None:
        change.report.recreated.append(qualified)
        change.report.notes.append(
            f"{qualified} was defined anew (its kind or free variables changed): references "
            "taken before the patch keep the old object"
        )
    else:
        change.report.updated.append(qualified)


def _defined_in_body(value: Any, cls: type) -> bool:
    function = _inner_function(value)
    if isinstance(value, property):
        function = value.fget
    return function is not None and function.__qualname__.startswith(cls.__qualname__ + ".")


def _update_class(change: InMemoryChange, cls: type, scratch: type) -> None:
    """Gives the live class ``cls`` the members of ``scratch`` (the new source run as a class
    statement): methods take the new code in place, new members are added, and methods the
    new source no longer defines are removed."""
    namespace = _Namespace(cls, cls.__qualname__ + ".")
    _point_class_cell(scratch, cls)
    for name, value in scratch.__dict__.items():
        if name in _OWN_CLASS_ATTRIBUTES or isinstance(
            value, (types.MemberDescriptorType, types.GetSetDescriptorType)
        ):
            continue
        if namespace.get(name) is value:
            continue
        _set_member(change, namespace, name, value)
    for name, value in list(cls.__dict__.items()):
        if name not in scratch.__dict__ and _defined_in_body(value, cls):
            change.bind(namespace, name, _MISSING)
            change.report.deleted.append(change.qualified(namespace, name))


def _point_class_cell(scratch: type, cls: type) -> None:
    """Methods of the scratch class that use ``super()`` or ``__class__`` must see ``cls``."""
    for value in scratch.__dict__.values():
        function = _inner_function(value)
        code = getattr(function, "__code__", None)
        if code is not None and "__class__" in code.co_freevars:
            cell = function.__closure__[code.co_freevars.index("__class__")]
            if cell.cell_contents is scratch:
                cell.cell_contents = cls
                return


def _replace_class(change: InMemoryChange, namespace: _Namespace, name: str, scratch: type) -> None:
    change.bind(namespace, name, scratch)
    qualified = change.qualified(namespace, name)
    change.report.recreated.append(qualified)
    change.report.notes.append(
        f"{qualified}: its bases, metaclass or __slots__ changed, so it was defined anew; "
        "existing instances keep the old class"
    )


def _same_shape(old: type, new: type) -> bool:
    return (
        type(old) is type(new)
        and old.__bases__ == new.__bases__
        and old.__dict__.get("__slots__") == new.__dict__.get("__slots__")
    )


def apply_in_memory(
    target: Any, module_name: str, qualname: str, source: str, globals_: dict
) -> InMemoryChange:
    """Applies ``source`` (one ``def`` or ``class`` statement) as the new definition of
    ``target``, the live object named ``qualname`` in the module whose namespace is
    ``globals_``. Raises before changing anything when the definition cannot be found."""
    if "<locals>" in qualname:
        raise ValueError(
            f"cannot patch {qualname}: it is defined inside a function, and without a source "
            "file its enclosing function cannot be run again"
        )
    classes = _resolve_classes(globals_, qualname)
    namespace = _namespace_of(globals_, classes)
    name = qualname.rsplit(".", 1)[-1]
    live = namespace.get(name)
    if live is not target and (
        isinstance(target, type) or _inner_function(live) is not _inner_function(target)
    ):
        raise LookupError(
            f"cannot patch {module_name}.{qualname}: that name is bound to another object now "
            "(was it defined again?); pass the current one"
        )
    flags = _flags_of(target) & _future_flags()
    bound, _ = _run_in_scope(source, globals_, classes, flags)
    change = InMemoryChange(module_name)
    new = bound[name]
    if isinstance(target, type) and isinstance(new, type):
        if _same_shape(target, new):
            _update_class(change, target, new)
            change.report.updated.append(change.qualified(namespace, name))
        else:
            _replace_class(change, namespace, name, new)
    else:
        _set_member(change, namespace, name, new)
    return change


def _flags_of(target: Any) -> int:
    """The compiler flags the target was compiled with (its ``__future__`` imports)."""
    values = list(vars(target).values()) if isinstance(target, type) else [target]
    for value in values:
        function = _inner_function(value)
        if function is not None:
            return function.__code__.co_flags
    return 0
