"""Which definitions differ between two releases, and whether the live program runs the new ones.

Definitions are found by compiling each file fresh and walking code objects through co_consts;
two codes are equal when instructions (no offsets/positions), names, constants (recursively),
variables, free variables and flags are equal.
"""

from __future__ import annotations

import dis
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

CO_NEWLOCALS = 0x2


def fingerprint(code: CodeType) -> tuple:
    """What must match for a live code to count as a fresh compile of the same source."""
    instructions = tuple(
        (i.opname, i.argrepr if i.opname.startswith("LOAD_CONST") is False else "")
        for i in dis.get_instructions(code)
    )
    consts = tuple(
        fingerprint(c) if isinstance(c, CodeType) else (type(c).__name__, repr(c))
        for c in code.co_consts
    )
    return (instructions, code.co_names, consts, code.co_varnames, code.co_freevars, code.co_flags)


def sources(live_dir: Path, tops: list) -> dict:
    """{module name: {qualname: fingerprint}} for every .py file of the package as it is on disk."""
    found = {}
    for top in tops:
        files = list(live_dir.joinpath(top).rglob("*.py")) + list(live_dir.glob(top + ".py"))
        for path in files:
            rel = path.relative_to(live_dir).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            try:
                code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
            except (SyntaxError, ValueError):
                continue
            found[".".join(parts)] = definitions(code)
    return found


def definitions(module_code: CodeType) -> dict:
    """{qualname: code} of every named function and class body (comprehensions stay in parents)."""
    found = {}
    stack = [(c, "") for c in module_code.co_consts]
    while stack:
        code, outer = stack.pop()
        if not isinstance(code, CodeType):
            continue
        qualname = qualname_of(code, outer)
        # A name defined twice (`@overload` stubs, then the implementation) is bound to the
        # last definition: keep the one that starts last.
        if not code.co_name.startswith("<") and (
            qualname not in found or code.co_firstlineno > found[qualname].co_firstlineno
        ):
            found[qualname] = code
        # What a function defines is in its `<locals>`; what a class body defines is not.
        inner = qualname + ".<locals>" if code.co_flags & CO_OPTIMIZED else qualname
        stack.extend((c, inner) for c in code.co_consts)
    return found


CO_OPTIMIZED = 0x0001  # set for functions, not for class bodies


def qualname_of(code: CodeType, outer: str) -> str:
    """`co_qualname` (3.11+), or the same worked out from the nesting on older Pythons."""
    qualname = getattr(code, "co_qualname", None)
    if qualname is not None:
        return qualname
    return f"{outer}.{code.co_name}" if outer else code.co_name


@dataclass
class Def:
    """A definition that differs between N and N+1 (or is new in N+1)."""

    module: str
    qualname: str
    new: CodeType


def changed_defs(old: dict, new: dict) -> list:
    changed = []
    for module, defs in new.items():
        before = old.get(module, {})
        for qualname, code in defs.items():
            if qualname not in before or fingerprint(before[qualname]) != fingerprint(code):
                changed.append(Def(module, qualname, code))
    return changed


def resolve(module: str, qualname: str):
    """The live object named qualname in module (through classes and functions' nested codes)."""
    obj = sys.modules.get(module)
    parts = qualname.split(".")
    for i, part in enumerate(parts):
        if part == "<locals>":
            return nested_code(live_code(obj), ".".join(parts[: i + 2]), qualname)
        namespace = vars(obj) if hasattr(obj, "__dict__") else {}
        if obj is None or part not in namespace:
            return None
        obj = namespace[part]
    return obj


def nested_code(code, prefix: str, qualname: str):
    """The code object named `qualname` nested in `code`, whose own names start with `prefix`."""
    if code is None:
        return None
    for const in code.co_consts:
        if isinstance(const, CodeType):
            name = qualname_of(const, prefix)
            if name == qualname:
                return const
            inner = name + ".<locals>" if const.co_flags & CO_OPTIMIZED else name
            found = nested_code(const, inner, qualname)
            if found is not None:
                return found
    return None


def live_code(obj, name=None, depth=0):
    """The code object a live definition runs, unwrapping descriptors and decorators. With
    ``name``, a wrapper that did not copy its function's name (a metaclass wrapping
    ``analyse_text``, say) is looked through: the function of that name in its closure."""
    if isinstance(obj, CodeType):
        return obj
    for attr in ("__func__", "fget", "func", "__wrapped__"):
        inner = getattr(obj, attr, None) if not inspect.isclass(obj) else None
        if inner is not None and not inspect.isfunction(obj):
            return live_code(inner, name, depth)
    code = getattr(obj, "__code__", None)
    if not isinstance(code, CodeType):
        return None
    if name is not None and code.co_name != name and depth < 3:
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                inner = live_code(cell.cell_contents, name, depth + 1)
            except ValueError:  # an empty cell
                continue
            if inner is not None and inner.co_name == name:
                return inner
    return code


def class_mismatches(cls, module: str, qualname: str, new_defs: dict, bound=None) -> list:
    """The methods N+1 defines directly in the class whose live code is not N+1's (all of
    them when `cls` is not a class). With `bound` (what a fresh start binds, "module:qualname"),
    a method a fresh start does not bind either (a helper the class body deletes) is left out."""
    methods = [
        (name, code)
        for name, code in new_defs.items()
        if name.rsplit(".", 1)[0] == qualname
        and code.co_flags & CO_NEWLOCALS
        and (bound is None or f"{module}:{name}" in bound)
    ]
    if not inspect.isclass(cls):
        return [qualname]
    wrong = []
    for name, code in methods:
        if not runs(vars(cls).get(name.rsplit(".", 1)[1]), code):
            wrong.append(name)
    return wrong


def defined_in(obj, module: str) -> bool:
    """Whether a resolved object is this module's own definition (not one it imported under
    the same name, like `typing.Literal` where an old release defined a fallback)."""
    if obj is None:
        return False
    if isinstance(obj, CodeType):
        return True
    owner = getattr(getattr(obj, "__func__", obj), "__module__", None)
    return owner is None or owner == module


def live_mismatches(d: Def, new_sources: dict, bound=None) -> list:
    """[] when the live definition runs N+1's code, else the qualnames that do not."""
    obj = resolve(d.module, d.qualname)
    if obj is None:
        return [d.qualname]
    if not d.new.co_flags & CO_NEWLOCALS and not isinstance(obj, CodeType):  # a class body
        return class_mismatches(obj, d.module, d.qualname, new_sources.get(d.module, {}), bound)
    return [] if runs(obj, d.new) else [d.qualname]


def runs(obj, code: CodeType) -> bool:
    """Whether the live object runs `code`; a property's getter and setter share a qualname,
    so either may be the one compiled last."""
    parts = (
        [getattr(obj, a) for a in ("fget", "fset", "fdel")] if isinstance(obj, property) else [obj]
    )
    codes = [live_code(part, code.co_name) for part in parts if part is not None]
    return any(c is not None and fingerprint(c) == fingerprint(code) for c in codes)


def live_matches(d: Def, new_sources: dict, bound=None) -> bool:
    return not live_mismatches(d, new_sources, bound)


def check_refs(refs: list, new_sources: dict, defs: list, bound=None) -> dict:
    """How many held references point at changed code, and how many of those run N+1's."""
    changed = {(d.module, d.qualname): d for d in defs}
    held = new = 0
    stale = []
    for kind, module, obj in refs:
        ok = ref_runs_new(kind, obj, changed, new_sources, bound)
        if ok is None:
            continue
        held += 1
        new += ok
        if not ok:
            stale.append(f"{kind} {module}:{ref_name(kind, obj)}")
    return {"refs": held, "refs_new": new, "stale_refs": stale[:20], "refs_all": len(refs)}


def ref_name(kind: str, obj) -> str:
    target = type(obj) if kind == "instance" else getattr(obj, "__func__", obj)
    return getattr(target, "__qualname__", repr(target))


def ref_runs_new(kind: str, obj, changed: dict, new_sources: dict, bound=None):
    """True/False for a reference to changed code; None when what it refers to did not change."""
    if kind in ("function", "method"):
        func = obj.__func__ if kind == "method" else obj
        key = (func.__module__, func.__qualname__)
        d = changed.get(key) or changed.get((getattr(obj, "__module__", ""), func.__qualname__))
        if d is None:
            return None
        # Through decorators (`@contextmanager` holds the function in `__wrapped__`).
        code = live_code(func, d.new.co_name)
        return code is not None and fingerprint(code) == fingerprint(d.new)
    cls = type(obj) if kind == "instance" else obj
    key = (cls.__module__, cls.__qualname__)
    if (
        not any(k[0] == key[0] and k[1].startswith(key[1] + ".") for k in changed)
        and key not in changed
    ):
        return None
    methods = new_sources.get(cls.__module__, {})
    return not class_mismatches(cls, cls.__module__, cls.__qualname__, methods, bound)
